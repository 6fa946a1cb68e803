// Command images builds the test suite's container images from source,
// offline: each program under test/images is compiled statically and put
// in a one-layer image, written as an archive (docker save format) that
// `localaks image load` takes.
//
//	go run ./test/images -o DIR   # writes DIR/hello.tar (localaks.test/hello:v1)
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/localaks/localaks/internal/ociimage"
)

// Images are the test images: program directory → image reference.
var Images = map[string]string{"hello": "localaks.test/hello:v1"}

// links are each image's symbolic links to its program (the hello program
// is also the image's tar, for kubectl cp).
var links = map[string][][2]string{"hello": {{"/bin/tar", "/hello"}}}

func main() {
	out := flag.String("o", ".", "directory for the archives")
	flag.Parse()
	if err := build(*out); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func build(out string) error {
	_, self, _, _ := runtime.Caller(0)
	src := filepath.Dir(self)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for prog, ref := range Images {
		bin := filepath.Join(out, prog)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./"+prog)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", prog, err)
		}
		body, err := os.ReadFile(bin)
		if err != nil {
			return err
		}
		if err := ociimage.WriteExecutable(filepath.Join(out, prog+".tar"), ref, "/"+prog, body, links[prog]...); err != nil {
			return err
		}
		os.Remove(bin) //nolint:errcheck // a build leftover
	}
	return nil
}
