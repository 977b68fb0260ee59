// Package modproxy turns the repository's Go modules (the root,
// migrations, shared and each function) into a file-system module proxy (GOPROXY=file://...), as
// if their current sources were published at Version. A function directory
// can then be built alone, with GOWORK=off and no replace directive, the
// way Knative's builders build it; and `make tidy` resolves the modules'
// requirements on each other through it.
package modproxy

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// Version is the version at which the repository's modules require each
// other (tag shared/vX.Y.Z, functions/<name>/vX.Y.Z and vX.Y.Z to publish).
const Version = "v0.1.0"

// Prefix is the module path every module of the repository starts with;
// GONOSUMDB names it, since the checksum database cannot know them.
const Prefix = "github.com/todoevents/todo"

// Module is one module of the repository.
type Module struct {
	Path, Dir string
}

// Modules lists the modules under root: the root module, migrations,
// shared and every functions/<name>, as go.work uses them.
func Modules(root string) ([]Module, error) {
	dirs := []string{root, filepath.Join(root, "migrations"), filepath.Join(root, "shared")}
	fns, err := filepath.Glob(filepath.Join(root, "functions", "*", "go.mod"))
	if err != nil {
		return nil, err
	}
	for _, f := range fns {
		dirs = append(dirs, filepath.Dir(f))
	}
	var out []Module
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			return nil, err
		}
		path := modfile.ModulePath(data)
		if !strings.HasPrefix(path, Prefix) {
			return nil, fmt.Errorf("%s: module %q is not under %s", dir, path, Prefix)
		}
		out = append(out, Module{Path: path, Dir: dir})
	}
	return out, nil
}

// Build writes a module proxy into dir serving every module of mods at
// Version, from the files in their directories (nested modules and files
// Go would not publish left out).
func Build(dir string, mods []Module) error {
	for _, m := range mods {
		escaped, err := module.EscapePath(m.Path)
		if err != nil {
			return err
		}
		at := filepath.Join(dir, escaped, "@v")
		if err := os.MkdirAll(at, 0o755); err != nil {
			return err
		}
		mod, err := os.ReadFile(filepath.Join(m.Dir, "go.mod"))
		if err != nil {
			return err
		}
		info, _ := json.Marshal(struct{ Version, Time string }{Version, "2026-01-01T00:00:00Z"})
		for name, data := range map[string][]byte{"list": []byte(Version + "\n"), Version + ".mod": mod, Version + ".info": info} {
			if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
				return err
			}
		}
		files, err := sources(m.Dir)
		if err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(at, Version+".zip"))
		if err != nil {
			return err
		}
		err = zip.Create(f, module.Version{Path: m.Path, Version: Version}, files)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("zip of %s: %w", m.Path, err)
		}
	}
	return nil
}

// skipped are directories that are never part of a module: version
// control, and what make run and make build leave behind.
var skipped = map[string]bool{".git": true, ".data": true, "bin": true, "node_modules": true}

// sources lists the regular files of the module at dir, leaving out nested
// modules and skipped directories.
func sources(dir string) ([]zip.File, error) {
	var files []zip.File
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == dir {
				return nil
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil || skipped[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, file{rel: filepath.ToSlash(rel), abs: path})
		}
		return nil
	})
	return files, err
}

// file is a zip.File read from disk.
type file struct{ rel, abs string }

func (f file) Path() string                 { return f.rel }
func (f file) Lstat() (os.FileInfo, error)  { return os.Lstat(f.abs) }
func (f file) Open() (io.ReadCloser, error) { return os.Open(f.abs) }

// Env is the environment in which the go command resolves the repository's
// modules from the proxy at dir, and every other module as usual.
func Env(dir, upstream string) []string {
	return append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GONOSUMDB="+Prefix,
		"GOPROXY=file://"+filepath.ToSlash(dir)+","+upstream)
}
