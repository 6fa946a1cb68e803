package acr

import (
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		want           []access
	}{
		{"GET", "/v2/", nil},
		{"GET", "/v2/_catalog?n=100", []access{{"registry", "catalog", []string{"*"}}}},
		{"GET", "/v2/team/app/manifests/v1", []access{{"repository", "team/app", []string{"pull"}}}},
		{"HEAD", "/v2/app/blobs/sha256:abc", []access{{"repository", "app", []string{"pull"}}}},
		{"POST", "/v2/app/blobs/uploads/?mount=sha256:abc&from=other", []access{{"repository", "app", []string{"pull", "push"}}}},
		{"PATCH", "/v2/a/b/c/blobs/uploads/1234", []access{{"repository", "a/b/c", []string{"pull", "push"}}}},
		{"DELETE", "/v2/app/manifests/sha256:abc", []access{{"repository", "app", []string{"delete"}}}},
		{"GET", "/v2/app/tags/list", []access{{"repository", "app", []string{"pull"}}}},
		{"GET", "/v2/app/referrers/sha256:abc", []access{{"repository", "app", []string{"pull"}}}},
		// A repository named like an API segment.
		{"GET", "/v2/manifests/manifests/v1", []access{{"repository", "manifests", []string{"pull"}}}},
		{"GET", "/acr/v1/_catalog", []access{{"registry", "catalog", []string{"*"}}}},
		{"GET", "/acr/v1/team/app/_tags", []access{{"repository", "team/app", []string{"metadata_read"}}}},
		{"DELETE", "/acr/v1/team/app/_tags/v1", []access{{"repository", "team/app", []string{"delete"}}}},
		{"DELETE", "/acr/v1/team/app", []access{{"repository", "team/app", []string{"delete"}}}},
		{"PATCH", "/acr/v1/app/_manifests/sha256:abc", []access{{"repository", "app", []string{"metadata_write"}}}},
	} {
		got := required(httptest.NewRequest(tc.method, tc.target, nil))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tc.method, tc.target, diff)
		}
	}
}

func TestParseScopesAndCovers(t *testing.T) {
	got := parseScopes([]string{"repository:team/app:pull,push registry:catalog:*", "repository:localhost:5000/x:pull", "bad"})
	want := []access{{"repository", "team/app", []string{"pull", "push"}}, {"registry", "catalog", []string{"*"}}, {"repository", "localhost:5000/x", []string{"pull"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("parseScopes (-want +got):\n%s", diff)
	}
	granted := []access{{"repository", "team/app", []string{"pull"}}, {"registry", "catalog", []string{"*"}}}
	for _, tc := range []struct {
		need access
		ok   bool
	}{
		{access{"repository", "team/app", []string{"pull"}}, true},
		{access{"repository", "team/app", []string{"pull", "push"}}, false},
		{access{"repository", "other", []string{"pull"}}, false},
		{access{"registry", "catalog", []string{"*"}}, true},
	} {
		if got := covers(granted, tc.need); got != tc.ok {
			t.Errorf("covers %v = %v", tc.need, got)
		}
	}
}

func TestLoginName(t *testing.T) {
	for host, want := range map[string]string{
		"myacr.azurecr.io": "myacr", "MyAcr.azurecr.io:443": "myacr", "myacr.azurecr.io.": "myacr",
		"azurecr.io": "", "a.b.azurecr.io": "", "localhost:7443": "", "myacr.azurecr.cn": "",
	} {
		got, ok := LoginName(host)
		if got != want || ok != (want != "") {
			t.Errorf("LoginName(%q) = %q, %v", host, got, ok)
		}
	}
}

func TestSplitImage(t *testing.T) {
	for in, want := range map[string][2]string{
		"app:v1": {"app", ":v1"}, "team/app": {"team/app", ":latest"}, "app@sha256:abc": {"app", "@sha256:abc"},
		"host:5000/app": {"host:5000/app", ":latest"},
	} {
		repo, ref, err := splitImage(in)
		if err != nil || repo != want[0] || ref != want[1] {
			t.Errorf("splitImage(%q) = %q %q %v", in, repo, ref, err)
		}
	}
	if _, _, err := splitImage(""); err == nil {
		t.Error("splitImage(\"\") did not fail")
	}
}

func TestChallengeDetail(t *testing.T) {
	w := httptest.NewRecorder()
	challenge(w, &resource{LoginServer: "myacr.azurecr.io"}, []access{{"repository", "app", []string{"pull"}}}, "insufficient_scope", authRequired)
	want := `Bearer realm="https://myacr.azurecr.io/oauth2/token",service="myacr.azurecr.io",scope="repository:app:pull",error="insufficient_scope"`
	if got := w.Header().Get("WWW-Authenticate"); got != want || w.Code != 401 {
		t.Errorf("challenge: %d %s", w.Code, got)
	}
	if body := w.Body.String(); body != `{"errors":[{"code":"UNAUTHORIZED","detail":[{"Action":"pull","Name":"app","Type":"repository"}],"message":"`+authRequired+`"}]}`+"\n" {
		t.Errorf("body: %s", body)
	}
}
