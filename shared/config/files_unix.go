//go:build unix

package config

import "syscall"

// OpenFileLimit is the process's soft limit on open files. The Go runtime
// raises it to (one below) the hard limit when the process starts, so it
// is as high as the platform lets this process go.
func OpenFileLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<20 {
		return 1 << 20
	}
	return int(r.Cur)
}
