//go:build tools

// Package apiserver pins the Kubernetes API server the manifest tests run;
// scripts/kube-apiserver.sh builds it from this module.
package apiserver

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
