package compute

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/logging"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	tenantID  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	subID     = "9d2c8a1e-4b7f-4c3a-8e21-5f0d6b3a7c10"
	callerOID = "0b7c6c2e-1d3f-4a5b-9c8d-7e6f5a4b3c2d"
	rgID      = "/subscriptions/" + subID + "/resourceGroups/rg"
	vnetID    = rgID + "/providers/Microsoft.Network/virtualNetworks/vnet"
	subnetID  = vnetID + "/subnets/nodes"
	// tinyID is a /29: three usable addresses.
	tinyID = vnetID + "/subnets/tiny"
	apiV   = "?api-version=2024-07-01"
)

// created is the provider's clock while a test creates things.
var created = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func vmssID(name string) string {
	return rgID + "/providers/Microsoft.Compute/virtualMachineScaleSets/" + name
}

func instanceID(vmss string, n string) string { return vmssID(vmss) + "/virtualMachines/" + n }

// signingKey is shared: generating RSA keys is the slow part of a test.
var signingKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// env is an ARM front door with the network and compute providers over a
// fresh store: a subscription, resource group rg and VNet vnet (subnets
// nodes 10.224.0.0/16 and tiny 10.239.0.0/29).
type env struct {
	t   *testing.T
	st  store.Store
	p   *Provider
	net *network.Provider
	srv *arm.Server
	tok string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := arm.NewDirectory(st)
	if _, err := dir.Bootstrap(ctx, tenantID, subID); err != nil {
		t.Fatal(err)
	}
	reg := arm.NewRegistry()
	netp := network.Register(network.Config{Store: st, Registry: reg, Log: logging.Discard()})
	p := Register(Config{Store: st, Registry: reg, Network: netp, Log: logging.Discard()})
	p.now = func() time.Time { return created }
	key, err := signingKey()
	if err != nil {
		t.Fatal(err)
	}
	signer := entra.NewSigner(key)
	now := time.Now()
	tok, err := signer.Sign(&entra.Claims{Issuer: "https://localhost/" + tenantID + "/", Audience: arm.ARMAudiences[0], TenantID: tenantID, AppID: "app", ObjectID: callerOID,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(time.Hour).Unix(), Version: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, p: p, net: netp, tok: tok,
		srv: arm.NewServer(arm.Config{Store: st, Registry: reg, Directory: dir, Signer: signer, Entra: http.NotFoundHandler()})}
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.Put(&store.Resource{ID: rgID, Type: "Microsoft.Resources/resourceGroups", Name: "rg", Location: "eastus"})
	}); err != nil {
		t.Fatal(err)
	}
	e.must("PUT", vnetID+"?api-version="+network.APIVersions[0], `{"location":"eastus","properties":{
		"addressSpace":{"addressPrefixes":["10.224.0.0/12"]},
		"subnets":[{"name":"nodes","properties":{"addressPrefix":"10.224.0.0/16"}},{"name":"tiny","properties":{"addressPrefix":"10.239.0.0/29"}}]}}`, 201)
	return e
}

// reply is an HTTP answer.
type reply struct {
	status int
	body   map[string]any
	raw    []byte
}

// apiError is what a test compares of an ARM error answer.
type apiError struct {
	Status                int
	Code, Target, Message string
}

// err is the answer as an error; Message is kept only when withMessage.
func (r reply) err(withMessage bool) apiError {
	e, _ := r.body["error"].(map[string]any)
	out := apiError{Status: r.status}
	out.Code, _ = e["code"].(string)
	out.Target, _ = e["target"].(string)
	if withMessage {
		out.Message, _ = e["message"].(string)
	}
	return out
}

func (e *env) do(method, path, body string) reply {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.tok)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req)
	r := reply{status: w.Code, raw: w.Body.Bytes()}
	if len(r.raw) > 0 { // some answers have no body
		if err := json.Unmarshal(r.raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, r.raw)
		}
	}
	return r
}

// must sends a request that has to answer status.
func (e *env) must(method, path, body string, status int) reply {
	e.t.Helper()
	r := e.do(method, path, body)
	if r.status != status {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, r.status, status, r.raw)
	}
	return r
}

// at walks a decoded JSON value by keys and indexes.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// obj is the object at path, for changing a request body.
func obj(v map[string]any, path ...string) map[string]any {
	for _, k := range path {
		v = v[k].(map[string]any)
	}
	return v
}

// scaleSet is a PUT body of a scale set shaped as AKS writes one, with
// change applied to it.
func scaleSet(capacity int, change ...func(body map[string]any)) string {
	body := map[string]any{
		"location": "eastus",
		"tags":     map[string]any{"aks-managed-poolName": "nodepool1"},
		"sku":      map[string]any{"name": "Standard_DS2_v2", "tier": "Standard", "capacity": capacity},
		"properties": map[string]any{
			"upgradePolicy":        map[string]any{"mode": "Manual"},
			"singlePlacementGroup": false,
			"overprovision":        false,
			"virtualMachineProfile": map[string]any{
				"osProfile": map[string]any{"computerNamePrefix": "aks-nodepool1-12345678-vmss", "adminUsername": "azureuser",
					"linuxConfiguration": map[string]any{"disablePasswordAuthentication": true}},
				"storageProfile": map[string]any{
					"imageReference": map[string]any{"publisher": "microsoft-aks", "offer": "aks", "sku": "aks-ubuntu-2204", "version": "latest"},
					"osDisk":         map[string]any{"createOption": "FromImage", "caching": "ReadOnly", "diskSizeGB": 128},
				},
				"networkProfile": map[string]any{"networkInterfaceConfigurations": []any{map[string]any{
					"name": "aks-nodepool1-12345678-vmss",
					"properties": map[string]any{"primary": true, "enableIPForwarding": true,
						"ipConfigurations": []any{map[string]any{"name": "ipconfig1",
							"properties": map[string]any{"primary": true, "subnet": map[string]any{"id": subnetID}}}}},
				}}},
			},
		},
	}
	for _, c := range change {
		c(body)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return string(raw)
}

// nicConfig is the first NIC configuration of a scale-set body.
func nicConfig(body map[string]any) map[string]any {
	return obj(body, "properties", "virtualMachineProfile", "networkProfile")["networkInterfaceConfigurations"].([]any)[0].(map[string]any)
}

// ipConfigs are the IP configurations of the first NIC configuration.
func ipConfigs(body map[string]any) []any {
	return obj(nicConfig(body), "properties")["ipConfigurations"].([]any)
}

// view runs fn in a read transaction, failing the test on error.
func (e *env) view(fn func(tx store.Tx) error) {
	e.t.Helper()
	if err := e.st.View(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

// instanceNames lists a scale set's instance IDs through the API.
func (e *env) instanceNames(vmss string) []string {
	e.t.Helper()
	r := e.must("GET", vmssID(vmss)+"/virtualMachines"+apiV, "", 200)
	names := []string{}
	for _, v := range r.body["value"].([]any) {
		names = append(names, v.(map[string]any)["name"].(string))
	}
	return names
}

// normalizers replace what differs from run to run.
var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<guid>"},
	{regexp.MustCompile(`00-0D-3A-[0-9A-F]{2}-[0-9A-F]{2}-[0-9A-F]{2}`), "<mac>"},
	{regexp.MustCompile(`_[0-9a-f]{32}"`), `_<hex32>"`},
}

// golden compares a JSON body, normalised, with testdata/{name}.golden.json.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, body)
	}
	got, _ := json.MarshalIndent(v, "", "  ")
	// The fixed IDs of the test are not GUIDs to hide.
	got = bytes.ReplaceAll(got, []byte(subID), []byte("SUB"))
	for _, n := range normalizers {
		got = n.re.ReplaceAll(got, []byte(n.with))
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from %s (-want +got; go test -update rewrites it):\n%s", name, path, diff)
	}
}
