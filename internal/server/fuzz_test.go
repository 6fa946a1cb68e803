package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzResourceGroupBody sends arbitrary bodies to PUT and PATCH of resource
// groups: the answer is never a 5xx, and a rejected PUT leaves no group
// behind (each input gets its own group name).
func FuzzResourceGroupBody(f *testing.F) {
	for _, s := range []string{
		`{"location":"eastus"}`, `{"location":"eastus","tags":{"a":"b"}}`, `{"location":null}`, `[]`, `{"tags":5}`,
		`{"location":"eastus","managedBy":"/subscriptions/x"}`, `{"location":"eastus"} {}`, "\x00",
	} {
		f.Add(s)
	}
	in := start(f, Config{})
	f.Fuzz(func(t *testing.T, body string) {
		sum := sha256.Sum256([]byte(body))
		path := in.sub() + "/resourcegroups/fuzz-" + hex.EncodeToString(sum[:6]) + v
		send := func(method, body string) int {
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+in.token)
			w := httptest.NewRecorder()
			in.srv.handler.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s %q: %d %s", method, body, w.Code, w.Body)
			}
			return w.Code
		}
		put := send("PUT", body)
		exists := send("HEAD", "") == 204
		if put >= 400 && exists {
			t.Fatalf("PUT %q was rejected (%d) but the group exists", body, put)
		}
		if put < 300 && !exists {
			t.Fatalf("PUT %q succeeded (%d) but the group does not exist", body, put)
		}
		send("PATCH", body)
	})
}
