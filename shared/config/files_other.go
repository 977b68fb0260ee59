//go:build !unix

package config

// OpenFileLimit is unknown here: taken as 1<<20.
func OpenFileLimit() int { return 1 << 20 }
