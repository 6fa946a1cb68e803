package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// portalPicture is a cluster's topology picture as the portal draws it.
type portalPicture struct {
	// Edges are "from→to" resource IDs in lower case.
	Edges map[string]bool
	// Boxes by resource ID in lower case.
	Boxes map[string]portalBox
	// Kube is the picture's line about the cluster's Kubernetes objects.
	Kube string
}

// portalBox is one box of the picture.
type portalBox struct {
	Kind string `xml:"data-kind,attr"`
	ID   string `xml:"data-id,attr"`
	Kube string `xml:"data-kube,attr"`
	Pods string `xml:"data-pods,attr"`
}

// portalPicture reads a cluster's topology picture from the portal
// (without a token, as a browser does).
func (s *serve) portalPicture(t *testing.T, clusterID string) portalPicture {
	t.Helper()
	resp, err := s.http.Get(s.URL + "/portal/topology.svg?id=" + url.QueryEscape(clusterID))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	pic, err := parsePortalSVG(raw)
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("topology: %d %v %s", resp.StatusCode, err, raw)
	}
	return pic
}

// portalUntil follows a cluster's picture as its page does (the portal's
// event stream) until cond holds, and returns that picture.
func (s *serve) portalUntil(t *testing.T, clusterID string, timeout time.Duration, cond func(portalPicture) bool) portalPicture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/portal/events?id="+url.QueryEscape(clusterID), nil)
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("portal events: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 64<<20)
	var last portalPicture
	event := ""
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			event = e
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || event != "picture" {
			continue
		}
		var ev struct {
			SVG string `json:"svg"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("portal event: %v", err)
		}
		if last, err = parsePortalSVG([]byte(ev.SVG)); err != nil {
			t.Fatalf("portal event's picture: %v", err)
		}
		if cond(last) {
			return last
		}
	}
	t.Fatalf("the portal's picture did not get there in %v (%v); the last one: kube %q, boxes %+v", timeout, sc.Err(), last.Kube, last.Boxes)
	return last
}

// parsePortalSVG reads the picture's edges, boxes and Kubernetes line.
func parsePortalSVG(raw []byte) (portalPicture, error) {
	var doc struct {
		Paths []struct {
			From string `xml:"data-from,attr"`
			To   string `xml:"data-to,attr"`
		} `xml:"path"`
		Boxes []portalBox `xml:"g"`
		Texts []struct {
			ID   string `xml:"id,attr"`
			Text string `xml:",chardata"`
		} `xml:"text"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		return portalPicture{}, err
	}
	pic := portalPicture{Edges: map[string]bool{}, Boxes: map[string]portalBox{}}
	for _, p := range doc.Paths {
		pic.Edges[p.From+"→"+p.To] = true
	}
	for _, b := range doc.Boxes {
		pic.Boxes[strings.ToLower(b.ID)] = b
	}
	for _, x := range doc.Texts {
		if x.ID == "kube-status" {
			pic.Kube = x.Text
		}
	}
	return pic, nil
}

// portalEdges is the picture's edges as "from→to" resource IDs in lower
// case.
func (s *serve) portalEdges(t *testing.T, clusterID string) map[string]bool {
	t.Helper()
	return s.portalPicture(t, clusterID).Edges
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
