// Command tidy runs `go mod tidy` in every module of the repository (make
// tidy). The modules require each other at modproxy.Version, which no
// public proxy has before a release, so they are resolved from a module
// proxy made from the working tree; their checksums are then left out of
// go.sum (they change with every edit; go.work builds use the directories,
// and a function built alone resolves its own with GONOSUMDB).
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/todoevents/todo/internal/modproxy"
)

func main() {
	if err := tidy(); err != nil {
		fmt.Fprintln(os.Stderr, "tidy:", err)
		os.Exit(1)
	}
}

func tidy() error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	upstream, err := exec.Command("go", "env", "GOPROXY").Output()
	if err != nil {
		return err
	}
	// Twice: the second pass sees the requirements the first one wrote.
	for range 2 {
		mods, err := modproxy.Modules(root)
		if err != nil {
			return err
		}
		proxy, err := os.MkdirTemp("", "modproxy")
		if err != nil {
			return err
		}
		defer os.RemoveAll(proxy)
		if err := modproxy.Build(proxy, mods); err != nil {
			return err
		}
		for _, m := range mods {
			cmd := exec.Command("go", "mod", "tidy")
			cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = m.Dir, modproxy.Env(proxy, strings.TrimSpace(string(upstream))), os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s: %w", m.Dir, err)
			}
			if err := dropOwnSums(filepath.Join(m.Dir, "go.sum")); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropOwnSums removes the lines of the repository's own modules from a
// go.sum.
func dropOwnSums(path string) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		return err
	}
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if !strings.HasPrefix(line, modproxy.Prefix+" ") && !strings.HasPrefix(line, modproxy.Prefix+"/") {
			out.WriteString(line)
		}
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}
