package ingressnginx

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/localaks/localaks/internal/nodeapps"
	"github.com/localaks/localaks/internal/ociimage"
)

// lua holds the plain-Lua modules Debian does not package (package doc).
//
//go:embed lua
var lua embed.FS

// Entrypoint is the controller's path in the image, as in the upstream one.
const Entrypoint = "/nginx-ingress-controller"

// nginx is Debian's nginx; the controller runs /usr/bin/nginx (its
// default NGINX_BINARY), a link to it.
const nginx = "/usr/sbin/nginx"

// hostFiles are the files of Debian's packages the image copies; each
// names its package for the message when it is missing.
var hostFiles = []struct{ path, pkg string }{
	{nginx, "nginx"},
	{debianModules[0], "libnginx-mod-http-ndk"},
	{debianModules[1], "libnginx-mod-http-lua"},
	{debianModules[2], "libnginx-mod-http-headers-more-filter"},
	{"/etc/nginx/mime.types", "nginx"},
	{"/usr/share/lua/5.1/resty/core.lua", "lua-resty-core"},
	{"/usr/share/lua/5.1/resty/lrucache.lua", "lua-resty-lrucache"},
	{"/usr/share/lua/5.1/nginx/dns/resolver.lua", "lua-nginx-dns"},
	{"/usr/share/lua/5.1/nginx/cookie.lua", "lua-nginx-cookie"},
	{cjson, "lua-cjson"},
}

const cjson = "/usr/lib/x86_64-linux-gnu/lua/5.1/cjson.so"

// Packages are the Debian packages the image's nginx comes from.
func Packages() []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range hostFiles {
		if !seen[f.pkg] {
			seen[f.pkg] = true
			out = append(out, f.pkg)
		}
	}
	return out
}

// MissingPackages lists the packages of Packages this host lacks.
func MissingPackages() []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range hostFiles {
		if _, err := os.Stat(f.path); err != nil && !seen[f.pkg] {
			seen[f.pkg] = true
			out = append(out, f.pkg)
		}
	}
	return out
}

// Files are the image's layer: the controller and its nginx configuration
// files from b (the template patched), the Lua modules of lua/, and
// Debian's nginx, its modules, Lua libraries and the shared libraries they
// need, from the host.
func Files(b Bundle) ([]ociimage.File, error) {
	if missing := MissingPackages(); len(missing) > 0 {
		return nil, fmt.Errorf("the managed NGINX needs Debian's %s (apt-get install %s)", strings.Join(missing, ", "), strings.Join(Packages(), " "))
	}
	files := []ociimage.File{
		{Path: Entrypoint, Source: b.Controller(), Mode: 0o755},
		{Path: nginx, Source: nginx, Mode: 0o755},
		{Path: "/usr/bin/nginx", Link: nginx},
		{Path: "/etc/nginx/mime.types", Source: "/etc/nginx/mime.types", Mode: 0o644},
		{Path: cjson, Source: cjson, Mode: 0o644},
		// The nginx master runs as root and its workers as nobody.
		{Path: "/etc/passwd", Body: []byte("root:x:0:0:root:/root:/sbin/nologin\nwww-data:x:33:33:www-data:/var/www:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"), Mode: 0o644},
		{Path: "/etc/group", Body: []byte("root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n"), Mode: 0o644},
		// Debian's nginx opens its built-in error log before the
		// configuration's; the controller's logs go to the container's.
		{Path: "/var/log/nginx/access.log", Link: "/dev/stdout"},
		{Path: "/var/log/nginx/error.log", Link: "/dev/stderr"},
		// The directories the upstream image makes.
		{Path: "/etc/ingress-controller/ssl/", Mode: 0o755},
		{Path: "/etc/ingress-controller/auth/", Mode: 0o755},
		{Path: "/etc/ingress-controller/geoip/", Mode: 0o755},
		{Path: "/etc/ingress-controller/telemetry/", Mode: 0o755},
		{Path: "/tmp/nginx/", Mode: 0o755},
		{Path: "/var/lib/nginx/", Mode: 0o755},
		{Path: "/run/", Mode: 0o755},
		{Path: "/tmp/", Mode: 0o1777},
	}
	for _, m := range debianModules {
		files = append(files, ociimage.File{Path: m, Source: m, Mode: 0o644})
	}
	libs, err := nodeapps.SharedObjects(append([]string{nginx, cjson}, debianModules...)...)
	if err != nil {
		return nil, err
	}
	files = append(files, libs...)
	// Debian's Lua libraries (lua-resty-core, -lrucache, nginx.dns,
	// nginx.cookie, cjson's helpers).
	err = filepath.WalkDir("/usr/share/lua/5.1", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".lua") {
			return err
		}
		files = append(files, ociimage.File{Path: p, Source: p, Mode: 0o644})
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = filepath.WalkDir(b.NginxConf(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(b.NginxConf(), p)
		f := ociimage.File{Path: path.Join("/etc/nginx", filepath.ToSlash(rel)), Source: p, Mode: 0o644}
		if rel == filepath.Join("template", "nginx.tmpl") {
			raw, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			t, err := PatchTemplate(string(raw))
			if err != nil {
				return err
			}
			f.Source, f.Body = "", []byte(t)
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(lua, "lua", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := lua.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, ociimage.File{Path: path.Join("/etc/nginx", p), Body: raw, Mode: 0o644})
		return nil
	})
	return files, err
}
