// Package ociimage builds the images localaks makes itself (the sandbox's
// pause image, the system images of real nodes, the test suite's images):
// one layer of files, shared by one or more tagged images, written as an
// image archive in `docker save` format, which `ctr images import` and
// `localaks image load` take.
package ociimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one entry of the layer: a file with Body or copied from the
// host file Source, a symbolic link to Link, or a directory (Path ends in
// "/").
type File struct {
	Path   string
	Body   []byte
	Source string
	Link   string
	Mode   int64
}

// Image is one tagged image of the archive: its one layer and
// entrypoint.
type Image struct {
	Ref        string
	Entrypoint []string
	Layer      *Layer
}

// WriteExecutable writes archive: image ref (a tag) for this machine's
// architecture, holding body as the executable at path, its entrypoint,
// and links: symbolic links (path in the image → target) to it or others.
func WriteExecutable(archive, ref, path string, body []byte, links ...[2]string) error {
	files := []File{{Path: path, Body: body, Mode: 0o755}}
	for _, l := range links {
		files = append(files, File{Path: l[0], Link: l[1]})
	}
	layer, err := NewLayer(files)
	if err != nil {
		return err
	}
	return Write(archive, []Image{{Ref: ref, Entrypoint: []string{path}, Layer: layer}})
}

// Write writes archive: images, each of one layer (images may share it;
// the archive holds it once). Layers are stored uncompressed (containerd
// unpacks them without inflating), and the archive appears whole or not
// at all.
func Write(archive string, images []Image) error {
	refs := map[name.Reference]v1.Image{}
	for _, im := range images {
		tag, err := name.NewTag(im.Ref)
		if err != nil {
			return err
		}
		base, err := mutate.AppendLayers(empty.Image, im.Layer)
		if err != nil {
			return err
		}
		cf, err := base.ConfigFile()
		if err != nil {
			return err
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", runtime.GOARCH
		cf.Config.Entrypoint = im.Entrypoint
		cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		img, err := mutate.ConfigFile(base, cf)
		if err != nil {
			return err
		}
		refs[tag] = img
	}
	tmp, err := os.CreateTemp(filepath.Dir(archive), filepath.Base(archive)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if err := tarball.MultiRefWrite(refs, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), archive)
}

// Layer is an uncompressed layer, its tar made from the files each time it
// is read (a v1.Layer).
type Layer struct {
	files  []File
	digest v1.Hash
	size   int64
}

// NewLayer makes the layer of files (reading them once for its digest).
func NewLayer(files []File) (*Layer, error) {
	l := &Layer{files: files}
	h := sha256.New()
	n, err := l.writeTo(h)
	if err != nil {
		return nil, err
	}
	l.size = n
	l.digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	return l, nil
}

func (l *Layer) Digest() (v1.Hash, error)             { return l.digest, nil }
func (l *Layer) DiffID() (v1.Hash, error)             { return l.digest, nil }
func (l *Layer) Size() (int64, error)                 { return l.size, nil }
func (l *Layer) MediaType() (types.MediaType, error)  { return types.DockerUncompressedLayer, nil }
func (l *Layer) Compressed() (io.ReadCloser, error)   { return l.Uncompressed() }
func (l *Layer) Uncompressed() (io.ReadCloser, error) { return l.open(), nil }

func (l *Layer) open() io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		_, err := l.writeTo(pw)
		pw.CloseWithError(err)
	}()
	return pr
}

// writeTo writes the layer's tar to w: parent directories first, then the
// files in path order.
func (l *Layer) writeTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	tw := tar.NewWriter(cw)
	files := append([]File(nil), l.files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	dirs := map[string]bool{}
	for _, f := range files {
		p := strings.Trim(f.Path, "/")
		var parents []string
		for d := filepath.Dir(p); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
				return cw.n, err
			}
		}
		if strings.HasSuffix(f.Path, "/") {
			if dirs[p] {
				continue
			}
			dirs[p] = true
		}
		if err := writeFile(tw, p, f); err != nil {
			return cw.n, fmt.Errorf("layer file %s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

func writeFile(tw *tar.Writer, p string, f File) error {
	mode := f.Mode
	switch {
	case f.Link != "":
		return tw.WriteHeader(&tar.Header{Name: p, Linkname: f.Link, Mode: 0o777, Typeflag: tar.TypeSymlink})
	case f.Source != "":
		src, err := os.Open(f.Source)
		if err != nil {
			return err
		}
		defer src.Close()
		st, err := src.Stat()
		if err != nil {
			return err
		}
		if mode == 0 {
			mode = int64(st.Mode().Perm())
		}
		if err := tw.WriteHeader(&tar.Header{Name: p, Mode: mode, Size: st.Size(), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		n, err := io.Copy(tw, src)
		if err == nil && n != st.Size() {
			err = errors.New("changed while it was read")
		}
		return err
	case strings.HasSuffix(f.Path, "/"):
		return tw.WriteHeader(&tar.Header{Name: p + "/", Mode: mode, Typeflag: tar.TypeDir})
	default:
		if mode == 0 {
			mode = 0o644
		}
		if err := tw.WriteHeader(&tar.Header{Name: p, Mode: mode, Size: int64(len(f.Body)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := io.Copy(tw, bytes.NewReader(f.Body))
		return err
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
