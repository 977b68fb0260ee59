//go:build !linux

package daprd

import "syscall"

// procAttr: without a parent-death signal outside Linux, Stop ends daprd.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
