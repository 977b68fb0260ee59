package daprd

import "syscall"

// procAttr makes daprd die with the process that started it.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
