package server

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The portal lists groups and resources and draws a cluster's node
// resource group: outbound IP → frontend → outbound rule → node pool →
// nodes → subnet → NSG and route table.
func TestPortal(t *testing.T) {
	in := start(t, Config{})
	if r := in.do("PUT", in.sub()+"/resourcegroups/web"+v, `{"location":"westeurope"}`); r.status != 201 {
		t.Fatal(r.status)
	}
	mc := in.sub() + "/resourceGroups/web/providers/Microsoft.ContainerService/managedClusters/pic"
	r := in.do("PUT", mc+"?api-version=2025-10-01", `{"location":"westeurope","identity":{"type":"SystemAssigned"},"properties":{"dnsPrefix":"pic",
		"agentPoolProfiles":[{"name":"system","count":2,"vmSize":"Standard_DS2_v2","mode":"System"}]}}`)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	in.waitSucceeded(t, r.header.Get("Azure-AsyncOperation"))
	// A template deployment shows under its group, apart from the resources.
	r = in.do("PUT", in.sub()+"/resourceGroups/web/providers/Microsoft.Resources/deployments/ipdeploy?api-version=2022-09-01",
		`{"properties":{"mode":"Incremental","template":{"resources":[{"type":"Microsoft.Network/publicIPAddresses","apiVersion":"2023-04-01",
		"name":"deployed-ip","location":"westeurope","sku":{"name":"Standard"},"properties":{"publicIPAllocationMethod":"Static"}}]}}}`)
	if r.status != 201 {
		t.Fatalf("deployment: %d %s", r.status, r.raw)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st := in.do("GET", r.header.Get("Location")[len(in.srv.URL()):], "")
		if st.status == 200 {
			break
		}
		if st.status != 202 || time.Now().After(deadline) {
			t.Fatalf("deployment: %d %s", st.status, st.raw)
		}
	}

	// Without a token: the portal is for a browser.
	get := func(path string) (int, string, string) {
		r := in.do("GET", path, "", "Authorization", "")
		return r.status, r.header.Get("Content-Type"), string(r.raw)
	}
	status, _, index := get("/portal/")
	if status != 200 || !strings.Contains(index, `href="cluster?id=`+url.QueryEscape(mc)+`"`) || !strings.Contains(index, "MC_web_pic_westeurope") ||
		!strings.Contains(index, "<td>ipdeploy</td><td>Succeeded</td>") || !strings.Contains(index, "deployed-ip") {
		t.Errorf("index: %d\n%s", status, index)
	}
	status, ctype, svg := get("/portal/topology.svg?id=" + url.QueryEscape(mc))
	if status != 200 || ctype != "image/svg+xml" {
		t.Fatalf("svg: %d %s\n%s", status, ctype, svg)
	}
	var doc struct {
		Groups []struct {
			Kind  string   `xml:"data-kind,attr"`
			ID    string   `xml:"data-id,attr"`
			Texts []string `xml:"text"`
		} `xml:"g"`
		Paths []struct {
			From string `xml:"data-from,attr"`
			To   string `xml:"data-to,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, svg)
	}
	kinds := map[string]int{}
	name := map[string]string{} // lower-case ID → kind
	for _, g := range doc.Groups {
		kinds[g.Kind]++
		name[strings.ToLower(g.ID)] = g.Kind
	}
	for kind, want := range map[string]int{"pip": 1, "frontend": 1, "outbound": 1, "vmss": 1, "node": 2, "subnet": 1, "nsg": 1, "routes": 1} {
		if kinds[kind] != want {
			t.Errorf("%d %s boxes, want %d (%v)", kinds[kind], kind, want, kinds)
		}
	}
	edges := map[string]int{}
	for _, p := range doc.Paths {
		edges[name[p.From]+"→"+name[p.To]]++
	}
	for _, e := range []string{"pip→frontend", "frontend→outbound", "outbound→vmss", "vmss→node", "node→subnet", "subnet→nsg", "subnet→routes"} {
		if edges[e] == 0 {
			t.Errorf("no %s edge (%v)", e, edges)
		}
	}
	if status, _, page := get("/portal/cluster?id=" + url.QueryEscape(mc)); status != 200 || !strings.Contains(page, "<svg") || !strings.Contains(page, "kubenet") {
		t.Errorf("cluster page: %d", status)
	}
	if status, _, _ := get("/portal/cluster?id=" + url.QueryEscape(in.sub()+"/resourceGroups/web/providers/Microsoft.ContainerService/managedClusters/none")); status != 404 {
		t.Errorf("missing cluster: %d", status)
	}
	if r := in.do("POST", "/portal/", "", "Authorization", ""); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", r.status)
	}
}
