package supervisor

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseCommandLine(t *testing.T) {
	cases := []struct {
		line string
		want []step
	}{
		{"kubectl get pods -A", []step{{argv: []string{"kubectl", "get", "pods", "-A"}}}},
		{`kubectl get pods -l 'app in (a, b)'`, []step{{argv: []string{"kubectl", "get", "pods", "-l", "app in (a, b)"}}}},
		{`kubectl annotate ns x "a=b c" && kubectl get ns x`, []step{
			{argv: []string{"kubectl", "annotate", "ns", "x", "a=b c"}, op: "&&"}, {argv: []string{"kubectl", "get", "ns", "x"}}}},
		{`kubectl get x || kubectl get y; kubectl get z;`, []step{
			{argv: []string{"kubectl", "get", "x"}, op: "||"}, {argv: []string{"kubectl", "get", "y"}, op: ";"}, {argv: []string{"kubectl", "get", "z"}, op: ";"}}},
		{`kubectl get cm -o jsonpath="{.data.a\"b}" ''`, []step{{argv: []string{"kubectl", "get", "cm", "-o", `jsonpath={.data.a"b}`, ""}}}},
	}
	for _, tc := range cases {
		got, err := parseCommandLine(tc.line)
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.line, got, tc.want)
		}
	}
	for _, bad := range []string{"", "kubectl get pods | grep x", "kubectl get pods > out", "echo $(id)", "&& kubectl get ns", "kubectl get 'x", `kubectl "x`, "kubectl get ns &&"} {
		if _, err := parseCommandLine(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestUnzipRefusesEscapes(t *testing.T) {
	mk := func(names ...string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range names {
			w, _ := zw.Create(n)
			w.Write([]byte("data of " + n))
		}
		zw.Close()
		return buf.Bytes()
	}
	dir := t.TempDir()
	if err := unzip(mk("app.yaml", "sub/dir/cm.yaml"), dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "sub", "dir", "cm.yaml"))
	if err != nil || !strings.Contains(string(b), "sub/dir/cm.yaml") {
		t.Fatalf("extracted file: %q, %v", b, err)
	}
	for _, bad := range []string{"../evil", "/etc/evil", "a/../../evil"} {
		if err := unzip(mk(bad), t.TempDir()); err == nil {
			t.Errorf("%q: extracted", bad)
		}
	}
}
