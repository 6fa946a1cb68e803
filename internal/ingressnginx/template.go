package ingressnginx

import (
	"fmt"
	"strings"
)

// debianModules are the dynamic modules of Debian's nginx the template's
// directives need, in load order (the development kit before Lua).
var debianModules = []string{
	"/usr/lib/nginx/modules/ndk_http_module.so",
	"/usr/lib/nginx/modules/ngx_http_lua_module.so",
	"/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so",
}

// PatchTemplate adapts ingress-nginx's nginx.tmpl to Debian's nginx 1.22,
// which the upstream image's nginx (1.25, modules built in) differs from
// in three ways:
//   - the modules are dynamic: load_module lines for debianModules;
//   - HTTP/2 is switched on per listen directive, not by `http2 on;`
//     (1.25.1): the directive goes, and servers speak HTTP/1.1;
//   - there is no stream Lua module: the stream block (TCP/UDP services and
//     the controller's stream configuration endpoint) is replaced by an
//     HTTP server on that endpoint's port which takes the controller's
//     updates and drops them, so TCP/UDP services are not served.
//
// Each patch fails loudly when its anchor is gone (a newer module).
func PatchTemplate(t string) (string, error) {
	const pid = "pid {{ .PID }};\n"
	if !strings.Contains(t, pid) {
		return "", fmt.Errorf("nginx.tmpl: no %q to load the modules after", strings.TrimSpace(pid))
	}
	var load strings.Builder
	load.WriteString(pid + "\n# localaks: Debian's nginx modules.\n")
	for _, m := range debianModules {
		fmt.Fprintf(&load, "load_module %s;\n", m)
	}
	t = strings.Replace(t, pid, load.String(), 1)

	const h2 = "http2 on;"
	if !strings.Contains(t, h2) {
		return "", fmt.Errorf("nginx.tmpl: no %q", h2)
	}
	t = strings.ReplaceAll(t, h2, "# localaks: no HTTP/2 (nginx 1.22 switches it on per listen directive)")

	stream := strings.Index(t, "\nstream {\n")
	defs := strings.Index(t, "{{/* definition of templates")
	if stream < 0 || defs < stream {
		return "", fmt.Errorf("nginx.tmpl: no stream block before the template definitions")
	}
	httpEnd := strings.LastIndex(t[:stream], "}")
	if httpEnd < 0 {
		return "", fmt.Errorf("nginx.tmpl: no end of the http block before the stream block")
	}
	endpoint := `
    # localaks: Debian's nginx has no stream Lua module, so TCP/UDP services
    # are not served; the controller's stream configuration updates are
    # read here and dropped.
    server {
        listen 127.0.0.1:{{ .StreamPort }};
        access_log off;
        return 444;
    }
`
	return t[:httpEnd] + endpoint + "}\n\n" + t[defs:], nil
}
