package pgcluster

import "syscall"

// serverProcAttr runs the server as cred (nil: as this user) in its own
// process group, and stops it (fast shutdown) if this process dies.
func serverProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT, Setpgid: true}
}
