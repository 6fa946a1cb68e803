package portal

import (
	"encoding/json"
	"html/template"
	"net/url"
)

func jsonUnmarshal(raw []byte, v any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"clusterURL": func(id string) string { return "cluster?id=" + url.QueryEscape(id) },
	"svgURL":     func(id string) string { return "topology.svg?id=" + url.QueryEscape(id) },
}).Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.}} · localaks</title>
<style>
body{font-family:"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#201f1e;background:#faf9f8}
header{background:#0078d4;color:#fff;padding:10px 20px;font-size:18px}
header a{color:#fff;text-decoration:none}
main{padding:16px 20px}
table{border-collapse:collapse;background:#fff;margin:6px 0 18px;min-width:60%}
th,td{text-align:left;padding:5px 12px;border-bottom:1px solid #edebe9;font-size:13px}
th{color:#605e5c;font-weight:600}
h2{font-size:16px;margin:18px 0 4px}
.muted{color:#605e5c;font-size:12px}
.picture{background:#fff;border:1px solid #edebe9;overflow:auto;padding:6px}
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px;font-size:13px}
dt{color:#605e5c}
</style></head><body><header><a href="./">localaks</a> · {{.}}</header><main>{{end}}

{{define "index"}}{{template "head" "Resource groups"}}
{{range .Groups}}
<h2>{{.Name}}</h2>
<div class="muted">{{.Location}} · subscription {{.Subscription}}{{if .ManagedBy}} · managed by {{.ManagedBy}}{{end}}</div>
<table><tr><th>Name</th><th>Type</th><th>Location</th><th>State</th></tr>
{{range .Resources}}<tr><td>{{if .Cluster}}<a href="{{clusterURL .ID}}">{{.Name}}</a>{{else}}{{.Name}}{{end}}</td><td>{{.Type}}</td><td>{{.Location}}</td><td>{{.State}}</td></tr>
{{else}}<tr><td colspan="4" class="muted">no resources</td></tr>{{end}}
</table>
{{if .Deployments}}<div class="muted">Deployments</div><table><tr><th>Name</th><th>State</th></tr>
{{range .Deployments}}<tr><td>{{.Name}}</td><td>{{.State}}</td></tr>{{end}}</table>{{end}}
{{else}}<p>No resource groups yet: <code>az group create</code>, then <code>az aks create</code>.</p>{{end}}
</main></body></html>{{end}}

{{define "cluster"}}{{template "head" .Name}}{{if .Live}}<meta http-equiv="refresh" content="5">{{end}}
<dl><dt>Cluster</dt><dd>{{.ID}}</dd><dt>State</dt><dd>{{.State}}</dd><dt>Kubernetes</dt><dd>{{.Version}}</dd>
<dt>Network plugin</dt><dd>{{.Network}}</dd><dt>API server</dt><dd>{{.FQDN}}</dd><dt>Node resource group</dt><dd>{{.NodeRG}}</dd></dl>
<h2>{{.NodeRG}}</h2>
<div class="muted">Traffic from the left: public IPs → load balancer frontends and gateways → rules → node pools → nodes → their subnet.{{if .Live}} Live: what each rule and gateway carried and refused, and per node what it took and the health probes it passes (refreshed every 5 s).{{end}} <a href="{{svgURL .ID}}">SVG</a></div>
<div class="picture">{{.SVG}}</div>
</main></body></html>{{end}}
`))
