package subprocess

import "syscall"

// Attr makes a child die with the test process (SIGKILL), in a
// process group of its own when group is set.
func Attr(group bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: group, Pdeathsig: syscall.SIGKILL}
}
