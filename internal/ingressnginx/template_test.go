package ingressnginx

import (
	"strings"
	"testing"
)

// tmpl has the parts of ingress-nginx's nginx.tmpl the patches touch.
const tmpl = `pid {{ .PID }};

http {
    server {
        {{ if $cfg.UseHTTP2 }}
            http2 on;
        {{ end }}
    }
}

stream {
    lua_package_path "/etc/nginx/lua/?.lua;;";
    server {
        listen 127.0.0.1:{{ .StreamPort }};
        content_by_lua_block {
          tcp_udp_configuration.call()
        }
    }
}

{{/* definition of templates to avoid repetitions */}}
{{ define "CUSTOM_ERRORS" }}{{ end }}
`

func TestPatchTemplate(t *testing.T) {
	got, err := PatchTemplate(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range debianModules {
		if !strings.Contains(got, "load_module "+m+";") {
			t.Errorf("no load_module %s:\n%s", m, got)
		}
	}
	if strings.Index(got, "load_module") < strings.Index(got, "pid ") {
		t.Errorf("modules loaded before pid:\n%s", got)
	}
	for _, gone := range []string{"http2 on;", "stream {", "lua_block"} {
		if strings.Contains(got, gone) {
			t.Errorf("%q left:\n%s", gone, got)
		}
	}
	// The stream endpoint is an HTTP server inside the http block, before
	// the template definitions.
	listen := strings.Index(got, "listen 127.0.0.1:{{ .StreamPort }};")
	if listen < strings.Index(got, "http {") || listen > strings.Index(got, "{{/* definition") {
		t.Errorf("stream endpoint misplaced:\n%s", got)
	}
	if strings.Count(got, "{") != strings.Count(got, "}") {
		t.Errorf("unbalanced braces:\n%s", got)
	}
}

func TestPatchTemplateAnchorsGone(t *testing.T) {
	for _, cut := range []string{"pid {{ .PID }};\n", "http2 on;", "\nstream {\n", "{{/* definition of templates"} {
		if _, err := PatchTemplate(strings.Replace(tmpl, cut, "", 1)); err == nil {
			t.Errorf("without %q: no error", cut)
		}
	}
}
