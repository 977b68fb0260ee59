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
	gomodcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return err
	}
	// A module cache of this run's own: the repository's modules change
	// while their version does not, and a shared cache would keep the first
	// copy. Other modules come from the machine's cache (a proxy on disk)
	// before the network.
	cache, err := os.MkdirTemp("", "modcache")
	if err != nil {
		return err
	}
	defer func() { _ = exec.Command("chmod", "-R", "u+w", cache).Run(); _ = os.RemoveAll(cache) }()
	via := "file://" + filepath.Join(strings.TrimSpace(string(gomodcache)), "cache", "download") + "," +
		strings.TrimSpace(string(upstream))
	// Until nothing changes: each pass sees the requirements the previous
	// one wrote into the other modules.
	for pass := 1; ; pass++ {
		mods, err := modproxy.Modules(root)
		if err != nil {
			return err
		}
		before := snapshot(mods)
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
			cmd.Dir, cmd.Stdout, cmd.Stderr = m.Dir, os.Stdout, os.Stderr
			cmd.Env = append(modproxy.Env(proxy, via), "GOMODCACHE="+cache)
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s: %w", m.Dir, err)
			}
			if err := dropOwnSums(filepath.Join(m.Dir, "go.sum")); err != nil {
				return err
			}
		}
		if snapshot(mods) == before {
			return nil
		}
		if pass == 5 {
			return fmt.Errorf("the modules' requirements still change after %d passes", pass)
		}
	}
}

// snapshot is the content of every module's go.mod and go.sum.
func snapshot(mods []modproxy.Module) string {
	var b strings.Builder
	for _, m := range mods {
		for _, f := range []string{"go.mod", "go.sum"} {
			data, _ := os.ReadFile(filepath.Join(m.Dir, f))
			b.Write(data)
		}
	}
	return b.String()
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
