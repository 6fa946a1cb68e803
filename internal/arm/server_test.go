package arm

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/store"
)

// testServer is an ARM server with one provider type, Microsoft.Test/widgets.
func testServer(t *testing.T) (*Server, store.Store, Identity, string) {
	t.Helper()
	st, _ := testStore(t)
	dir := NewDirectory(st)
	ident, err := dir.Bootstrap(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer := entra.NewSigner(key)
	reg := NewRegistry()
	reg.Register(&ResourceType{Namespace: "Microsoft.Test", Type: "widgets", APIVersions: []string{"2024-01-01", "2023-01-01"},
		Locations: []string{"eastus"},
		Put: func(ctx context.Context, req *Request) (*Response, error) {
			var body map[string]any
			if err := req.DecodeBody(&body, true); err != nil {
				return nil, err
			}
			return Created(body), nil
		},
		Get: func(ctx context.Context, req *Request) (*Response, error) {
			return OK(map[string]string{"name": req.Route.Name()}), nil
		},
	})
	srv := NewServer(Config{Store: st, Registry: reg, Directory: dir, Signer: signer, Entra: http.NotFoundHandler()})
	now := time.Now()
	tok, err := signer.Sign(&entra.Claims{Issuer: "https://localhost/" + ident.TenantID + "/", Audience: ARMAudiences[0], TenantID: ident.TenantID, AppID: "app", ObjectID: "oid",
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(time.Hour).Unix(), Version: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	return srv, st, ident, tok
}

func serve(srv *Server, tok, method, path, body string) (int, map[string]any) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	var out map[string]any
	json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func errCode(body map[string]any) (string, string) {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	m, _ := e["message"].(string)
	return c, m
}

func TestProviderAPIVersionAndRegistration(t *testing.T) {
	srv, st, ident, tok := testServer(t)
	widget := "/subscriptions/" + ident.SubscriptionID + "/resourceGroups/rg/providers/Microsoft.Test/widgets/w1"

	status, body := serve(srv, tok, "PUT", widget+"?api-version=2099-01-01", `{"location":"East US"}`)
	code, msg := errCode(body)
	if status != 400 || code != "NoRegisteredProviderFound" || !strings.Contains(msg, "location 'eastus'") || !strings.Contains(msg, "2024-01-01, 2023-01-01") {
		t.Errorf("PUT with bad version: %d %s %q", status, code, msg)
	}
	status, body = serve(srv, tok, "GET", widget+"?api-version=2099-01-01", "")
	if code, _ := errCode(body); status != 400 || code != "InvalidResourceType" {
		t.Errorf("GET with bad version: %d %s", status, code)
	}
	if status, _ := serve(srv, tok, "PUT", widget+"?api-version=2024-01-01", `{"location":"eastus"}`); status != 201 {
		t.Fatalf("PUT: %d", status)
	}

	// Unregistered namespace: 409 with the namespace as the detail's target.
	if err := st.Update(context.Background(), func(tx store.Tx) error {
		props, _ := json.Marshal(RegistrationProperties{RegistrationState: NotRegistered})
		return tx.Put(&store.Resource{ID: RegistrationID(ident.SubscriptionID, "Microsoft.Test"), Type: "Microsoft.Resources/providers",
			Name: "Microsoft.Test", Properties: props})
	}); err != nil {
		t.Fatal(err)
	}
	status, body = serve(srv, tok, "PUT", widget+"?api-version=2024-01-01", `{"location":"eastus"}`)
	code, _ = errCode(body)
	details, _ := body["error"].(map[string]any)["details"].([]any)
	if status != 409 || code != "MissingSubscriptionRegistration" || len(details) != 1 || details[0].(map[string]any)["target"] != "Microsoft.Test" {
		t.Errorf("unregistered: %d %v", status, body)
	}
}

func TestPanicIsA500(t *testing.T) {
	srv, _, ident, tok := testServer(t)
	srv.cfg.Registry.Lookup("Microsoft.Test/widgets").Get = func(context.Context, *Request) (*Response, error) { panic("boom") }
	status, body := serve(srv, tok, "GET", "/subscriptions/"+ident.SubscriptionID+"/resourceGroups/rg/providers/Microsoft.Test/widgets/w?api-version=2024-01-01", "")
	if code, msg := errCode(body); status != 500 || code != "InternalServerError" || strings.Contains(msg, "boom") {
		t.Errorf("panic: %d %s %q", status, code, msg)
	}
}

func TestPaginate(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	req := &Request{HTTP: httptest.NewRequest("GET", "/x?api-version=1&%24top=2", nil), BaseURL: "https://h", pageSize: 100}
	var got []string
	for pages := 0; ; pages++ {
		page, next, err := Paginate(req, items, func(s string) string { return s })
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		if !strings.HasPrefix(next, "https://h/x?") || !strings.Contains(next, "api-version=1") || pages > 5 {
			t.Fatalf("nextLink = %q", next)
		}
		req.HTTP = httptest.NewRequest("GET", strings.TrimPrefix(next, "https://h"), nil)
	}
	if strings.Join(got, "") != "abcde" {
		t.Errorf("pages = %v", got)
	}
	req.HTTP = httptest.NewRequest("GET", "/x?%24top=zero", nil)
	if _, _, err := Paginate(req, items, func(s string) string { return s }); err == nil {
		t.Error("bad $top accepted")
	}
}

func TestListPage(t *testing.T) {
	st, _ := testStore(t)
	st.Update(context.Background(), func(tx store.Tx) error {
		for i := 0; i < 9; i++ {
			name := string(rune('a' + i))
			if err := tx.Put(&store.Resource{ID: "/subscriptions/s/resourceGroups/" + name, Type: "Microsoft.Resources/resourceGroups", Name: name,
				Tags: map[string]string{"odd": map[bool]string{true: "yes", false: "no"}[i%2 == 1]}}); err != nil {
				return err
			}
		}
		return nil
	})
	req := &Request{HTTP: httptest.NewRequest("GET", "/subscriptions/s/resourcegroups?%24top=2", nil), BaseURL: "https://h", pageSize: 100}
	var got []string
	for pages := 0; ; pages++ {
		var next string
		st.View(context.Background(), func(tx store.Tx) error {
			page, nl, err := ListPage(tx, req, store.Query{Subscription: "s", Type: "Microsoft.Resources/resourceGroups"},
				func(r *store.Resource) bool { return r.Tags["odd"] == "no" })
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 2 {
				t.Errorf("page of %d", len(page))
			}
			for _, r := range page {
				got = append(got, r.Name)
			}
			next = nl
			return nil
		})
		if next == "" || pages > 10 {
			break
		}
		req.HTTP = httptest.NewRequest("GET", strings.TrimPrefix(next, "https://h"), nil)
	}
	if strings.Join(got, "") != "acegi" {
		t.Errorf("filtered pages = %v", got)
	}
}
