//go:build !linux

package pgcluster

import "syscall"

// serverProcAttr runs the server as cred (nil: as this user) in its own
// process group. Outside Linux there is no parent-death signal: Stop, or
// the stale postmaster.pid check on the next start, cleans up.
func serverProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}
