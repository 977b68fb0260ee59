//go:build !linux

package subprocess

import "syscall"

// Attr puts a child in a process group of its own when group is set.
// Without Linux's parent-death signal, children end with their Stop; the
// end-to-end tier runs on Linux (see e2e/main_test.go).
func Attr(group bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: group}
}
