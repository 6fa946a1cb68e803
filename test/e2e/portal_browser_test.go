package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// box is a topology box's place on the page, in CSS pixels.
type box struct {
	ID                  string
	X, Y, Width, Height float64
}

// boxesJS reads every box of the picture as the browser lays it out.
const boxesJS = `Array.from(document.querySelectorAll('#topology .node rect')).map(function(r){
  var b=r.getBoundingClientRect(); return {ID:r.parentNode.dataset.id, X:b.x+window.scrollX, Y:b.y+window.scrollY, Width:b.width, Height:b.height};})`

// TestPortalInBrowser drives the portal in Chromium (chromedp): from the
// resource groups to a cluster's page, whose picture fits a 1400-pixel
// window without any box over another, draws the same after a reload,
// tells a box's whole name in its side panel, and follows an az aks scale
// without a reload, then a kubectl expose: the Service's frontend and rule,
// named after it, and each node's pods in its side panel (read through the
// cluster's API server). LOCALAKS_SCREENSHOTS=dir keeps screenshots there
// (the README's come from it).
func TestPortalInBrowser(t *testing.T) {
	needAz(t)
	needCommand(t, "chromium", "LOCALAKS_E2E_REQUIRE_CHROMIUM", "chromium")
	t.Parallel()
	s := startServe(t, "")
	mustAz(t, s.localaksAz("group", "create", "-n", "web", "-l", "eastus", "-o", "none"))
	mustAz(t, s.aksCreate(t, "-g", "web", "-n", "shop", "--node-count", "2"))
	kc := s.credentials(t, "web", "shop")
	mustKubectl(t, kc, "create", "deployment", "store", "--image=nginx", "--replicas=2")
	mustKubectl(t, kc, "rollout", "status", "deployment/store", "--timeout=60s")

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath("chromium"), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1400, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	str := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	attr := func(sel, name string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
		if err != nil {
			t.Fatalf("attribute %s of %s: %v", name, sel, err)
		}
		return v.Value
	}
	boxes := func() []box {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]box](boxesJS))
		if err != nil {
			t.Fatalf("boxes: %v", err)
		}
		return v
	}
	shots := os.Getenv("LOCALAKS_SCREENSHOTS")
	shoot := func(name string) {
		t.Helper()
		if shots == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// From the resource groups to the cluster.
	do("index", chromedp.Navigate(s.URL+"/portal/"), chromedp.WaitVisible(chromedp.CSS(`a[href^="cluster?id="]`)))
	shoot("portal-groups.png")
	do("open the cluster", chromedp.Click(chromedp.CSS(`a[href^="cluster?id="]`)), chromedp.WaitVisible(chromedp.CSS(`#topology .node`)))

	viewport, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.clientWidth`))
	if err != nil {
		t.Fatal(err)
	}
	before := boxes()
	if len(before) < 6 {
		t.Fatalf("%d boxes in the picture", len(before))
	}
	for i, a := range before {
		if a.X < 0 || a.X+a.Width > viewport {
			t.Errorf("%s is outside the %v-pixel window: %+v", a.ID, viewport, a)
		}
		for _, b := range before[i+1:] {
			if a.X < b.X+b.Width && b.X < a.X+a.Width && a.Y < b.Y+b.Height && b.Y < a.Y+a.Height {
				t.Errorf("%s overlaps %s", a.ID, b.ID)
			}
		}
	}
	do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#topology .node`)))
	if after := boxes(); fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("the picture moved on reload:\n%v\n%v", before, after)
	}

	// A box's whole name in the side panel.
	label := attr(`#topology .node[data-kind="vmss"]`, "data-label")
	do("select the scale set", chromedp.Click(chromedp.CSS(`#topology .node[data-kind="vmss"]`)))
	if panel := str("side panel", chromedp.Text(chromedp.CSS(`#panel h3`))); label == "" || panel != label {
		t.Errorf("side panel %q, want the scale set's name %q", panel, label)
	}

	// az aks scale: the third instance appears without a reload.
	updates := attr(`#follow`, "data-updates")
	mustAz(t, s.localaksAz("aks", "scale", "-g", "web", "-n", "shop", "--node-count", "3", "-o", "none"))
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`document.querySelectorAll('#topology .node[data-kind="node"]').length === 3`,
		chromedp.WithPollingTimeout(time.Minute))); err != nil {
		t.Fatalf("the third instance on the page: %v", err)
	}
	if later := attr(`#follow`, "data-updates"); later == updates {
		t.Errorf("the page's update count did not move (%s)", updates)
	}
	if selected := str("side panel", chromedp.Text(chromedp.CSS(`#panel h3`))); !strings.Contains(selected, label) {
		t.Errorf("the side panel lost the selection: %q", selected)
	}

	// kubectl expose: the Service's frontend and rule appear, named after
	// it, without a reload; a node's side panel lists its pods.
	mustKubectl(t, kc, "expose", "deployment", "store", "--port=80", "--type=LoadBalancer")
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`document.querySelectorAll('#topology .node[data-kind="rule"][data-kube="Service default/store"]').length === 1 &&
		document.querySelectorAll('#topology .node[data-kind="frontend"][data-kube="Service default/store"]').length === 1`,
		chromedp.WithPollingTimeout(time.Minute))); err != nil {
		t.Fatalf("the Service's frontend and rule on the page: %v", err)
	}
	storePods := pods(t, kc, "-l", "app=store")
	do("select a node with a store pod", chromedp.Click(chromedp.CSS(`#topology .node[data-kind="node"][data-pods*="default/`+storePods[0].Metadata.Name+` "]`)))
	if listed := str("pods in the side panel", chromedp.Text(chromedp.CSS(`#pods`))); !strings.Contains(listed, "default/"+storePods[0].Metadata.Name+" · Running · "+storePods[0].Status.PodIP) {
		t.Errorf("the node's side panel lists %q", listed)
	}
	if kube := str("the Kubernetes line", chromedp.Evaluate[string](`document.getElementById('kube-status').textContent`)); !strings.HasPrefix(kube, "Kubernetes: ") || !strings.Contains(kube, "1 LoadBalancer Service") {
		t.Errorf("the picture's Kubernetes line: %q", kube)
	}
	after := boxes()
	for i, a := range after {
		for _, b := range after[i+1:] {
			if a.X < b.X+b.Width && b.X < a.X+a.Width && a.Y < b.Y+b.Height && b.Y < a.Y+a.Height {
				t.Errorf("after the Service: %s overlaps %s", a.ID, b.ID)
			}
		}
	}
	shoot("portal-cluster.png")

	// The cluster's own page: its JSON is what ARM answers.
	do("the groups again", chromedp.Navigate(s.URL+"/portal/"), chromedp.WaitVisible(chromedp.CSS(`a[href^="resource?id="]`)))
	do("the cluster's page", chromedp.Click(chromedp.CSS(`td a[href*="managedClusters"]`)), chromedp.WaitVisible(chromedp.CSS(`#json`)))
	shoot("portal-resource.png")
	shown := str("JSON view", chromedp.Text(chromedp.CSS(`#json`)))
	version := str("api-version", chromedp.Text(chromedp.CSS(`#api-version`)))
	req, _ := http.NewRequest("GET", s.URL+s.sub()+"/resourceGroups/web/providers/Microsoft.ContainerService/managedClusters/shop?api-version="+version, nil)
	req.Header.Set("Authorization", "Bearer "+s.token("https://management.core.windows.net//.default"))
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var a, b any
	if json.Unmarshal([]byte(shown), &a) != nil || json.Unmarshal(direct, &b) != nil || !reflect.DeepEqual(a, b) {
		t.Errorf("the page's JSON is not ARM's GET at %s:\n%s\n%s", version, shown, direct)
	}
	do("a resource that is not there", chromedp.Navigate(s.URL+"/portal/resource?id=/subscriptions/nope"), chromedp.WaitVisible(chromedp.CSS(`main p`)))
	if text := str("404 page", chromedp.Text(chromedp.CSS(`main p`))); !strings.Contains(text, "There is no resource") {
		t.Errorf("the 404 page says %q", text)
	}
}
