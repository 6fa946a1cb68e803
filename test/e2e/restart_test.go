package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// request sends an authenticated ARM request to s.
func (s *serve) request(method, path, body string) (int, http.Header, map[string]any) {
	s.t.Helper()
	status, h, out, err := s.tryRequest(method, path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	return status, h, out
}

// tryRequest is request that returns a failed exchange (a connection
// dropped by a crash) as an error.
func (s *serve) tryRequest(method, path, body string) (int, http.Header, map[string]any, error) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token("https://management.core.windows.net//.default"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return resp.StatusCode, resp.Header, out, nil
}

// TestKillAndRestart: every accepted write survives kill -9, and an
// asynchronous delete that was in flight completes after the restart.
func TestKillAndRestart(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := startServe(t, dataDir, "--operation-min-duration", "1m")
	const v = "?api-version=2021-04-01"
	for _, name := range []string{"keep", "doomed"} {
		if status, _, body := s.request("PUT", s.sub()+"/resourcegroups/"+name+v, `{"location":"eastus","tags":{"k":"v"}}`); status != 201 {
			t.Fatalf("create %s: %d %v", name, status, body)
		}
	}
	status, hdr, _ := s.request("DELETE", s.sub()+"/resourcegroups/doomed"+v, "")
	if status != 202 {
		t.Fatalf("delete: %d", status)
	}
	loc, err := url.Parse(hdr.Get("Location"))
	if err != nil || loc.Path == "" {
		t.Fatalf("Location = %q", hdr.Get("Location"))
	}
	// The operation takes at least a minute, so it is in flight now.
	if _, _, body := s.request("GET", s.sub()+"/resourcegroups/doomed"+v, ""); body["properties"].(map[string]any)["provisioningState"] != "Deleting" {
		t.Fatalf("doomed group = %v, want Deleting", body)
	}
	if status, _, _ := s.request("GET", loc.RequestURI(), ""); status != 202 {
		t.Fatalf("operation result while running = %d, want 202", status)
	}
	s.kill(syscall.SIGKILL)

	// Restart without the minimum duration: the interrupted delete resumes
	// and completes on its own.
	s2 := startServe(t, dataDir)
	if s2.Client != s.Client {
		t.Errorf("identity changed across restart: %+v → %+v", s.Client, s2.Client)
	}
	status, _, body := s2.request("GET", s2.sub()+"/resourcegroups/keep"+v, "")
	if status != 200 || body["tags"].(map[string]any)["k"] != "v" {
		t.Errorf("group after kill -9: %d %v", status, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _, _ := s2.request("GET", loc.RequestURI(), "")
		if status == 200 {
			break
		}
		if status != 202 || time.Now().After(deadline) {
			t.Fatalf("operation result after restart = %d", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status, _, _ := s2.request("GET", s2.sub()+"/resourcegroups/doomed"+v, ""); status != 404 {
		t.Errorf("doomed group after resumed delete: %d, want 404", status)
	}

	// A second serve on the same data dir is refused.
	out, err := exec.Command(binary, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another localaks serve") {
		t.Errorf("second serve: %v\n%s", err, out)
	}

	// SIGTERM shuts down cleanly and removes serve.json.
	s2.kill(syscall.SIGTERM)
	if code := s2.exitCode(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d", code)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "serve.json")); !os.IsNotExist(err) {
		t.Errorf("serve.json after shutdown: %v", err)
	}
	// With no serve running, the client commands say so.
	out, err = exec.CommandContext(context.Background(), binary, "env", "--data-dir", dataDir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not running") {
		t.Errorf("env without serve: %v\n%s", err, out)
	}
}

// TestAzSurvivesRestart: `localaks az` keeps working when serve comes back
// on another port (it re-registers its cloud).
func TestAzSurvivesRestart(t *testing.T) {
	t.Parallel()
	needAz(t)
	dataDir := t.TempDir()
	s := startServe(t, dataDir)
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus"))
	s.kill(syscall.SIGKILL)
	s2 := startServe(t, dataDir)
	var list []struct{ Name string }
	mustAz(t, s2.localaksAz("group", "list")).json(t, &list)
	if len(list) != 1 || list[0].Name != "rg1" {
		t.Errorf("group list after kill -9 and restart = %+v", list)
	}
}

// TestEnv checks that `localaks env` prints what the SDKs and Terraform
// read, and that the values work.
func TestEnv(t *testing.T) {
	t.Parallel()
	s := startServe(t, "")
	out, err := exec.Command(binary, "env", "--data-dir", s.dataDir).Output()
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(line, "export ") {
			vars[k] = strings.Trim(v, "'")
		}
	}
	for k, want := range map[string]string{
		"AZURE_TENANT_ID": s.Client.TenantID, "AZURE_SUBSCRIPTION_ID": s.Client.SubscriptionID, "AZURE_CLIENT_ID": s.Client.ClientID,
		"ARM_METADATA_HOSTNAME": strings.TrimPrefix(s.URL, "https://"), "ARM_TENANT_ID": s.Client.TenantID,
		"REQUESTS_CA_BUNDLE": filepath.Join(s.dataDir, "pki", "ca-bundle.pem"), "LOCALAKS_URL": s.URL,
	} {
		if vars[k] != want {
			t.Errorf("%s = %q, want %q", k, vars[k], want)
		}
	}
	// Terraform fetches https://$ARM_METADATA_HOSTNAME/metadata/endpoints.
	resp, err := s.http.Get("https://" + vars["ARM_METADATA_HOSTNAME"] + "/metadata/endpoints?api-version=2022-09-01")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("metadata at ARM_METADATA_HOSTNAME: %d", resp.StatusCode)
	}
}
