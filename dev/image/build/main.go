// Command build writes each function's image, and the migration's (for
// the migrate Job), as a tarball (make images):
//
//	go run ./dev/image/build -out dist/images -registry registry.example.com/todo [-arch amd64] [function...]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/todoevents/todo/dev/image"
)

func main() {
	out := flag.String("out", "dist/images", "directory for the tarballs")
	registry := flag.String("registry", "registry.example.com/todo", "repository prefix of the image tags")
	tag := flag.String("tag", "latest", "image tag")
	arch := flag.String("arch", runtime.GOARCH, "GOARCH of the images")
	flag.Parse()
	fns := flag.Args()
	if len(fns) == 0 {
		fns = []string{"create-task", "complete-task", "skip-task", "read-tasks", "update-task", "delete-task", "recur-task", "live-updates", "notify", "migrate"}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	for _, fn := range fns {
		ref := fmt.Sprintf("%s/%s:%s", *registry, fn, *tag)
		spec := image.Spec{Name: fn, Root: ".", Arch: *arch}
		img, err := image.Build(context.Background(), spec)
		if err != nil {
			fail(err)
		}
		path := filepath.Join(*out, fn+".tar")
		if err := image.Write(path, ref, img); err != nil {
			fail(err)
		}
		fmt.Println(path, ref)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "images:", err)
	os.Exit(1)
}
