//go:build !linux

package harness

import "syscall"

// childProcAttr puts a child in a process group of its own when group is
// set. Without Linux's parent-death signal, children are stopped by the
// harness's Close; the end-to-end tier runs on Linux (see e2e/main_test.go).
func childProcAttr(group bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: group}
}
