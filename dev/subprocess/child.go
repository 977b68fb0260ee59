// Package child runs the processes the development command and the tests
// start (function binaries, brokers, sidecars): started, waited for until
// they answer, stopped gracefully or killed.
package subprocess

import (
	"fmt"
	"net/http"
	"os/exec"
	"syscall"
	"time"
)

// Process is a started child process.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Start starts cmd; onExit (optional) runs once it has exited.
func Start(cmd *exec.Cmd, onExit func()) (*Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		if onExit != nil {
			onExit()
		}
		close(p.done)
	}()
	return p, nil
}

// WaitReady polls url until it answers 2xx. It fails when the process
// exits first or timeout passes (then the process is killed).
func (p *Process) WaitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited during start-up", p.cmd.Path)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			p.Kill()
			return fmt.Errorf("%s not ready after %v", p.cmd.Path, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop sends SIGTERM and waits for a graceful exit (30 s, then SIGKILL).
func (p *Process) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.Kill()
	}
}

// Terminate sends SIGTERM and waits up to grace for the process to exit,
// as a platform does before its SIGKILL: it reports whether the process
// exited in time and its exit code (-1 when killed).
func (p *Process) Terminate(grace time.Duration) (inTime bool, code int) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		inTime = true
	case <-time.After(grace):
		p.Kill()
	}
	return inTime, p.cmd.ProcessState.ExitCode()
}

// Kill ends the process at once (SIGKILL), as a crash would.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}
