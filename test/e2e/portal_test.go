package e2e

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// portalEdges reads a cluster's topology picture from the portal (without
// a token, as a browser does) and returns its edges as "from→to" resource
// IDs in lower case.
func (s *serve) portalEdges(t *testing.T, clusterID string) map[string]bool {
	t.Helper()
	resp, err := s.http.Get(s.URL + "/portal/topology.svg?id=" + url.QueryEscape(clusterID))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var doc struct {
		Paths []struct {
			From string `xml:"data-from,attr"`
			To   string `xml:"data-to,attr"`
		} `xml:"path"`
	}
	if resp.StatusCode != 200 || xml.Unmarshal(raw, &doc) != nil {
		t.Fatalf("topology: %d %s", resp.StatusCode, raw)
	}
	edges := map[string]bool{}
	for _, p := range doc.Paths {
		edges[p.From+"→"+p.To] = true
	}
	return edges
}

// screenshotPortal renders a cluster's portal page in headless Chromium and
// checks that the picture was drawn: the frontends' green border is there.
func (s *serve) screenshotPortal(t *testing.T, clusterID string) {
	t.Helper()
	needCommand(t, "chromium", "LOCALAKS_E2E_REQUIRE_CHROMIUM", "chromium")
	shot := filepath.Join(t.TempDir(), "portal.png")
	cmd := exec.Command("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors",
		"--window-size=1600,900", "--screenshot="+shot, s.URL+"/portal/cluster?id="+url.QueryEscape(clusterID))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	green := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			// the frontend boxes' green border (#107c10, anti-aliased)
			if g>>8 > r>>8+0x30 && g>>8 > bl>>8+0x30 {
				green++
			}
		}
	}
	if green < 100 {
		t.Errorf("the screenshot shows no frontend boxes (%d green pixels)", green)
	}
}

func lower(s string) string { return strings.ToLower(s) }
