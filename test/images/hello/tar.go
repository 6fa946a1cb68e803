package main

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// runTar is the image's tar, as much of one as `kubectl cp` runs: `tar
// [--no-same-permissions --no-same-owner] -xmf - [-C DIR]` to copy into
// the container, `tar cf - PATH` to copy out.
func runTar(args []string) error {
	dir, extract, create := ".", false, false
	var paths []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-C" && i+1 < len(args):
			dir = args[i+1]
			i++
		case strings.HasPrefix(a, "--"):
		case a == "-":
		case strings.Contains(strings.TrimPrefix(a, "-"), "x") && !create && len(paths) == 0:
			extract = true
		case strings.Contains(strings.TrimPrefix(a, "-"), "c") && !extract && len(paths) == 0:
			create = true
		default:
			paths = append(paths, a)
		}
	}
	switch {
	case extract:
		return untar(os.Stdin, dir)
	case create:
		return tarTo(os.Stdout, paths)
	}
	return errors.New("tar: use -x or -c")
}

func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fs.FileMode(h.Mode)&0o777)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		}
	}
}

func tarTo(w io.Writer, paths []string) error {
	tw := tar.NewWriter(w)
	for _, p := range paths {
		err := filepath.Walk(p, func(path string, info fs.FileInfo, err error) error {
			if err != nil {
				return err
			}
			h, err := tar.FileInfoHeader(info, "")
			if err != nil {
				return err
			}
			// As GNU tar names members: the path as given, less a leading /.
			h.Name = strings.TrimPrefix(path, "/")
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if !info.Mode().IsRegular() {
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		})
		if err != nil {
			return err
		}
	}
	return tw.Close()
}
