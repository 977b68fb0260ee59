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
	"slices"
	"strings"

	"github.com/todoevents/todo/dev/modproxy"
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
	mods, err := modproxy.Modules(root)
	if err != nil {
		return err
	}
	// One pass from the bottom of the one-way tree up (migrations, shared,
	// the functions, the root): each module is tidied after what it
	// requires, through a proxy made after those changed.
	order := slices.Concat(mods[1:], mods[:1])
	for _, m := range order {
		proxy, err := os.MkdirTemp("", "modproxy")
		if err != nil {
			return err
		}
		defer os.RemoveAll(proxy)
		if err := modproxy.Build(proxy, mods); err != nil {
			return err
		}
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
