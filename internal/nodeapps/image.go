package nodeapps

import (
	"debug/elf"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/localaks/localaks/internal/ociimage"
)

// libDirs are where a dynamically linked binary's libraries are looked
// up on the host, and placed in the layer: the loader's default
// directories (Debian's multiarch ones first).
var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// BinaryLayer lists the files of the layer of the images whose program is
// linked in: an empty file at Binary, which the node binds exe (this
// binary) over when a container starts, exe's ELF interpreter and shared
// libraries from the host when it is linked dynamically (as a cgo build
// is), each such image's entrypoint as a link to Binary, and a
// world-writable /tmp.
func BinaryLayer(exe string) ([]ociimage.File, error) {
	files := []ociimage.File{
		{Path: Binary, Body: []byte{}, Mode: 0o755},
		{Path: "/tmp/", Mode: 0o1777},
	}
	deps, err := SharedObjects(exe)
	if err != nil {
		return nil, err
	}
	files = append(files, deps...)
	for _, im := range Images {
		if _, ok := programs[path.Base(im.Entrypoint)]; ok {
			files = append(files, ociimage.File{Path: im.Entrypoint, Link: Binary})
		}
	}
	return files, nil
}

// SharedObjects are the ELF interpreter and the shared libraries the
// executables and shared objects in files need, directly or through one
// another (each once), as layer files copied from the host.
func SharedObjects(files ...string) ([]ociimage.File, error) {
	var out []ociimage.File
	seen := map[string]bool{}
	queue := append([]string(nil), files...)
	for len(queue) > 0 {
		file := queue[0]
		queue = queue[1:]
		f, err := elf.Open(file)
		if err != nil {
			return nil, err
		}
		var needed []string
		for _, p := range f.Progs {
			if p.Type != elf.PT_INTERP {
				continue
			}
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				f.Close()
				return nil, err
			}
			if interp := string(b[:len(b)-1]); !seen[interp] {
				seen[interp] = true
				out = append(out, ociimage.File{Path: interp, Source: interp, Mode: 0o755})
			}
		}
		libs, err := f.ImportedLibraries()
		f.Close()
		if err != nil {
			return nil, err
		}
		sort.Strings(libs)
		for _, lib := range libs {
			found := ""
			for _, d := range libDirs {
				if _, err := os.Stat(filepath.Join(d, lib)); err == nil {
					found = filepath.Join(d, lib)
					break
				}
			}
			if found == "" {
				return nil, fmt.Errorf("%s needs %s, which is in none of %v", file, lib, libDirs)
			}
			if !seen[found] {
				seen[found] = true
				needed = append(needed, found)
				out = append(out, ociimage.File{Path: found, Source: found, Mode: 0o755})
			}
		}
		queue = append(queue, needed...)
	}
	return out, nil
}

// ImagesFor is the archive's images for refs (each one of Images, at any
// tag): a linked-in program's on binary (BinaryLayer's), a standby's on a
// layer of its own; a ref that is none of Images is an error.
func ImagesFor(refs []string, binary *ociimage.Layer) ([]ociimage.Image, error) {
	var out []ociimage.Image
	for _, ref := range refs {
		im, ok := Lookup(ref)
		if !ok {
			return nil, fmt.Errorf("no system image is built for %s", ref)
		}
		layer := binary
		if _, linked := programs[path.Base(im.Entrypoint)]; !linked {
			var err error
			if layer, err = ociimage.NewLayer([]ociimage.File{{Path: im.Entrypoint, Body: StandbyProgram(standbyMessage(path.Base(im.Entrypoint))), Mode: 0o755}}); err != nil {
				return nil, err
			}
		}
		out = append(out, ociimage.Image{Ref: ref, Entrypoint: []string{im.Entrypoint}, Layer: layer})
	}
	return out, nil
}
