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
	"resURL":     resourceURL,
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
.picture{background:#fff;border:1px solid #edebe9;overflow:auto;padding:6px;max-height:80vh}
.view{display:grid;grid-template-columns:minmax(0,1fr) 280px;gap:12px;align-items:start}
.toolbar{margin:6px 0}.toolbar button{font:inherit;font-size:12px;margin-right:4px;padding:2px 10px}
#panel{background:#fff;border:1px solid #edebe9;padding:10px;font-size:13px;word-break:break-all;position:sticky;top:8px}
#panel h3{font-size:14px;margin:0 0 6px;word-break:break-word}
.node{cursor:pointer}.node:focus{outline:none}.node.selected rect{stroke-width:3}
.edge.lit{stroke:#0078d4;stroke-width:2.5}
#panel .kube{color:#326ce5}#panel ul{padding-left:18px;margin:4px 0}
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px;font-size:13px}
pre.json{background:#fff;border:1px solid #edebe9;padding:10px;font-size:12px;overflow:auto;max-height:60vh}
h2 a{color:inherit}
dt{color:#605e5c}
</style></head><body><header><a href="./">localaks</a> · {{.}}</header><main>{{end}}

{{define "index"}}{{template "head" "Resource groups"}}
{{range .Groups}}
<h2><a href="{{resURL .ID}}">{{.Name}}</a></h2>
<div class="muted">{{.Location}} · subscription {{.Subscription}}{{if .ManagedBy}} · managed by <a href="{{resURL .ManagedBy}}">{{.ManagedBy}}</a>{{end}}</div>
<table><tr><th>Name</th><th>Type</th><th>Location</th><th>State</th></tr>
{{range .Resources}}<tr><td><a href="{{resURL .ID}}">{{.Name}}</a>{{if .Cluster}} · <a href="{{clusterURL .ID}}">picture</a>{{end}}</td><td>{{.Type}}</td><td>{{.Location}}</td><td>{{.State}}</td></tr>
{{else}}<tr><td colspan="4" class="muted">no resources</td></tr>{{end}}
</table>
{{if .Deployments}}<div class="muted">Deployments</div><table><tr><th>Name</th><th>State</th></tr>
{{range .Deployments}}<tr><td>{{.Name}}</td><td>{{.State}}</td></tr>{{end}}</table>{{end}}
{{else}}<p>No resource groups yet: <code>az group create</code>, then <code>az aks create</code>.</p>{{end}}
</main></body></html>{{end}}

{{define "notfound"}}{{template "head" "Not found"}}
<p>There is no resource <code>{{.}}</code> here (it may have been deleted, or the address is not a resource ID).</p>
<p><a href="./">All resource groups</a></p>
</main></body></html>{{end}}

{{define "resource"}}{{template "head" .Name}}
<dl><dt>Name</dt><dd>{{.Name}}</dd><dt>Type</dt><dd>{{.Type}}</dd>{{if .Location}}<dt>Location</dt><dd>{{.Location}}</dd>{{end}}
{{if .Group}}<dt>Resource group</dt><dd><a href="{{resURL .GroupID}}">{{.Group}}</a></dd>{{end}}
{{if .ManagedBy}}<dt>Managed by</dt><dd><a href="{{resURL .ManagedBy}}">{{.ManagedBy}}</a></dd>{{end}}
{{if .State}}<dt>State</dt><dd>{{.State}}</dd>{{end}}<dt>Resource ID</dt><dd><code>{{.ID}}</code></dd>
{{if .Cluster}}<dt>Picture</dt><dd><a href="{{clusterURL .ID}}">the cluster and its node resource group</a></dd>{{end}}</dl>
<h2>Tags</h2>{{if .Tags}}<table><tr><th>Name</th><th>Value</th></tr>{{range .Tags}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>{{end}}</table>{{else}}<div class="muted">none</div>{{end}}
{{if .Children}}<h2>Child resources</h2><table><tr><th>Name</th><th>Type</th><th>State</th></tr>{{range .Children}}<tr><td><a href="{{resURL .ID}}">{{.Name}}</a></td><td>{{.Type}}</td><td>{{.State}}</td></tr>{{end}}</table>{{end}}
<h2>Links to</h2>{{if .LinksTo}}<table><tr><th>Name</th><th>Type</th></tr>{{range .LinksTo}}<tr><td><a href="{{resURL .ID}}">{{.Name}}</a></td><td>{{.Type}}</td></tr>{{end}}</table>{{else}}<div class="muted">nothing</div>{{end}}
<h2>Linked from</h2>{{if .LinkedFrom}}<table><tr><th>Name</th><th>Type</th></tr>{{range .LinkedFrom}}<tr><td><a href="{{resURL .ID}}">{{.Name}}</a></td><td>{{.Type}}</td></tr>{{end}}</table>{{else}}<div class="muted">nothing</div>{{end}}
<h2>Activity log</h2>{{if .Activity}}<table><tr><th>Operation</th><th>Status</th><th>Started</th><th>Took</th><th>Error</th></tr>{{range .Activity}}<tr><td>{{.Kind}}</td><td>{{.Status}}</td><td>{{.Started}}</td><td>{{.Duration}}</td><td>{{.Error}}</td></tr>{{end}}</table>{{else}}<div class="muted">no long-running operations on it</div>{{end}}
{{if .JSON}}<h2>JSON</h2><div class="muted">What ARM answers for <code>GET</code> of it at api-version <code id="api-version">{{.APIVersion}}</code> (status {{.JSONStatus}}).</div><pre class="json" id="json">{{.JSON}}</pre>{{end}}
</main></body></html>{{end}}

{{define "cluster"}}{{template "head" .Name}}
<dl><dt>Cluster</dt><dd>{{.ID}}</dd><dt>State</dt><dd id="state">{{.State}}</dd><dt>Power</dt><dd id="power">{{.Power}}{{if eq .Power "Stopped"}} — the control plane and nodes are stopped (<code>az aks start</code>); the picture shows what stays in Azure{{end}}</dd><dt>Kubernetes</dt><dd id="version">{{.Version}}</dd>
<dt>Network plugin</dt><dd>{{.Network}}</dd><dt>API server</dt><dd>{{.FQDN}}</dd><dt>Node resource group</dt><dd>{{.NodeRG}}</dd></dl>
<h2>{{.NodeRG}}</h2>
<div class="muted">Traffic from the left: public IPs → load balancer frontends and gateways → rules → node pools → nodes → their subnet.{{if .Kube}} In blue, read from the cluster's API server: the Services and Ingresses each box serves, and each node's pods.{{end}}{{if .Live}} Live: what each rule and gateway carried and refused, and per node what it took and the health probes it passes.{{end}}{{if .Follow}} <span id="follow" data-updates="0">The picture follows changes as they are written.</span>{{end}} <a href="{{svgURL .ID}}">SVG</a></div>
<div class="toolbar"><button id="zoom-in" title="Zoom in">+</button><button id="zoom-out" title="Zoom out">−</button><button id="zoom-fit" title="Fit the window">Fit</button></div>
<div class="view"><div class="picture" id="picture">{{.SVG}}</div>
<aside id="panel"><div class="muted">Select a box to see it whole: name, detail, resource ID, and its connections.</div></aside></div>
<script>
(function(){
  var svg=document.getElementById('topology'), pic=document.getElementById('picture'), panel=document.getElementById('panel'), zoom=1, selected=null;
  function apply(){ if(zoom===1){svg.style.maxWidth='100%';svg.style.width='';}else{svg.style.maxWidth='none';svg.style.width=(zoom*pic.clientWidth)+'px';} }
  document.getElementById('zoom-in').onclick=function(){zoom=Math.min(zoom*1.25,6);apply();};
  document.getElementById('zoom-out').onclick=function(){zoom=Math.max(zoom/1.25,1);apply();};
  document.getElementById('zoom-fit').onclick=function(){zoom=1;apply();};
  pic.addEventListener('wheel',function(e){if(!e.ctrlKey)return;e.preventDefault();zoom=e.deltaY<0?Math.min(zoom*1.1,6):Math.max(zoom/1.1,1);apply();},{passive:false});
  function text(tag,s,cls){var e=document.createElement(tag);e.textContent=s;if(cls)e.className=cls;return e;}
  function nodeByID(id){return Array.prototype.find.call(svg.querySelectorAll('.node'),function(x){return x.dataset.id.toLowerCase()===id;});}
  function select(g){
    svg.querySelectorAll('.node.selected').forEach(function(n){n.classList.remove('selected');});
    svg.querySelectorAll('.edge.lit').forEach(function(n){n.classList.remove('lit');});
    g.classList.add('selected'); selected=g.dataset.id.toLowerCase();
    var id=selected, links=[];
    svg.querySelectorAll('.edge').forEach(function(p){
      var other=p.dataset.from===id?p.dataset.to:(p.dataset.to===id?p.dataset.from:null);
      if(other!==null){p.classList.add('lit');links.push(other);}
    });
    panel.replaceChildren(text('h3',g.dataset.label), text('div',g.dataset.detail), text('div',g.dataset.kube||'','kube'),
      text('div',g.dataset.live,'live'), text('div',g.dataset.kind,'muted'), text('code',g.dataset.id));
    if(g.dataset.pods){panel.appendChild(text('div','Pods','muted'));var pl=document.createElement('ul');pl.id='pods';
      g.dataset.pods.split('\n').forEach(function(p){pl.appendChild(text('li',p));});panel.appendChild(pl);}
    if(links.length){panel.appendChild(text('div','Connected to','muted'));var ul=document.createElement('ul');
      links.forEach(function(l){var n=nodeByID(l);ul.appendChild(text('li',n?n.dataset.label:l));});panel.appendChild(ul);}
  }
  function bind(){
    svg.querySelectorAll('.node').forEach(function(g){
      g.addEventListener('click',function(){select(g);});
      g.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();select(g);}});
    });
  }
  bind();
  var follow=document.getElementById('follow');
  if(follow&&window.EventSource){
    var es=new EventSource('events?id='+encodeURIComponent({{.ID}}));
    es.addEventListener('picture',function(e){
      var d=JSON.parse(e.data), was={};
      svg.querySelectorAll('.node rect').forEach(function(r){was[r.parentNode.dataset.id]=[+r.getAttribute('x'),+r.getAttribute('y')];});
      pic.innerHTML=d.svg; svg=document.getElementById('topology'); apply(); bind();
      // Boxes that moved glide to their new place; new ones fade in.
      if(svg.animate)svg.querySelectorAll('.node rect').forEach(function(r){
        var g=r.parentNode, p=was[g.dataset.id];
        if(!p){g.animate([{opacity:0},{opacity:1}],{duration:400});return;}
        var dx=p[0]-r.getAttribute('x'), dy=p[1]-r.getAttribute('y');
        if(dx||dy)g.animate([{transform:'translate('+dx+'px,'+dy+'px)'},{transform:'none'}],{duration:400,easing:'ease-out'});
      });
      if(selected){var n=nodeByID(selected); if(n)select(n);}
      document.getElementById('state').textContent=d.state; document.getElementById('version').textContent=d.version;
      document.getElementById('power').textContent=d.power+(d.power==='Stopped'?' — the control plane and nodes are stopped (az aks start); the picture shows what stays in Azure':'');
      follow.dataset.updates=String(Number(follow.dataset.updates)+1);
    });
    es.addEventListener('gone',function(){es.close();follow.textContent='The cluster is gone.';});
  }
})();
</script>
</main></body></html>{{end}}
`))
