package portal

import (
	"bytes"
	"fmt"
	"html"
	"sort"
	"strings"

	"github.com/localaks/localaks/internal/resourceid"
)

// Layout of the picture, in SVG user units.
const (
	boxW = 210
	boxH = 42
	// liveLine is the height of the line with a box's live counts.
	liveLine = 14
	colGap   = 50
	rowGap   = 14
	marginX  = 20
	topY     = 56
	// bandH is the band above the columns that shows the cluster's own
	// resource group, the managed cluster in it and its control plane.
	bandH = 102
)

// colours of the boxes by kind: fill and stroke.
var colours = map[string][2]string{
	"pip":      {"#e8f1fb", "#0078d4"},
	"frontend": {"#eef6ee", "#107c10"},
	"gateway":  {"#eef6ee", "#107c10"},
	"rule":     {"#fff8e6", "#c19c00"},
	"gwrule":   {"#fff8e6", "#c19c00"},
	"outbound": {"#f5f5f5", "#8a8886"},
	"vmss":     {"#f3eefa", "#5c2d91"},
	"node":     {"#faf0fa", "#8764b8"},
	"more":     {"#faf0fa", "#8764b8"},
	"subnet":   {"#e6f7f7", "#038387"},
	"nsg":      {"#fdeeee", "#a4262c"},
	"routes":   {"#f5f5f5", "#605e5c"},
}

// box is a node's place in the picture (its top-left corner).
type box struct {
	node *Node
	x, y int
}

// curve is an edge's path: from (x1, y1) to (x2, y2), a cubic Bézier curve
// whose control points share the vertical line x = mid.
type curve struct {
	edge                Edge
	x1, y1, mid, x2, y2 int
}

// picture is the graph laid out: one column per layer, boxes stacked in
// each in the graph's order, and a curve for every edge.
type picture struct {
	// top is where the columns' boxes start.
	top           int
	width, height int
	boxes         []box
	curves        []curve
}

// layout places the graph's boxes and edges: the columns ordered by
// arrange, each box then as level with the boxes it is joined to as its
// column's order and spacing allow (least squares, by merging the boxes
// that would overlap into blocks), in passes over the columns.
func (g *Graph) layout() picture {
	boxH := g.boxHeight()
	cols := g.arrange()
	pitch := float64(boxH + rowGap)
	nb := map[*Node][]*Node{}
	for _, e := range g.Edges {
		a, b := g.byID[e.From], g.byID[e.To]
		if a != nil && b != nil && a != b && a.Column != b.Column {
			nb[a], nb[b] = append(nb[a], b), append(nb[b], a)
		}
	}
	y := map[*Node]float64{}
	for _, col := range cols {
		for i, n := range col {
			y[n] = float64(i) * pitch
		}
	}
	for pass := range 8 {
		for k := range columns {
			c := k
			if pass%2 == 1 {
				c = columns - 1 - k
			}
			want := make([]float64, len(cols[c]))
			for i, n := range cols[c] {
				want[i] = y[n]
				if len(nb[n]) > 0 {
					sum := 0.0
					for _, m := range nb[n] {
						sum += y[m]
					}
					want[i] = sum / float64(len(nb[n]))
				}
			}
			for i, v := range spread(want, pitch) {
				y[cols[c][i]] = v
			}
		}
	}
	low := 0.0
	for _, v := range y {
		low = min(low, v)
	}
	type pos struct{ x, y int }
	at := map[string]pos{}
	p := picture{top: topY}
	if g.Cluster != nil {
		p.top += bandH
	}
	bottom := p.top
	for c, col := range cols {
		for _, n := range col {
			x := marginX + c*(boxW+colGap)
			yy := p.top + int(y[n]-low+0.5)
			at[strings.ToLower(n.ID)] = pos{x, yy}
			p.boxes = append(p.boxes, box{node: n, x: x, y: yy})
			bottom = max(bottom, yy+boxH)
		}
	}
	if len(p.boxes) == 0 {
		bottom = p.top + boxH
	}
	// (room on the right for edges within the last column)
	p.width = 2*marginX + columns*boxW + columns*colGap
	p.height = bottom + rowGap + marginX
	for _, e := range g.Edges {
		from, to := at[e.From], at[e.To]
		x1, y1 := from.x+boxW, from.y+boxH/2
		x2, y2 := to.x, to.y+boxH/2
		if to.x <= from.x { // same or earlier column: leave and enter on the right
			x2 = to.x + boxW
		}
		mid := (x1 + x2) / 2
		if x2 <= x1 {
			mid = max(x1, x2) + colGap/2
		}
		p.curves = append(p.curves, curve{edge: e, x1: x1, y1: y1, mid: mid, x2: x2, y2: y2})
	}
	// Drawn in an order of their own, not the graph's.
	sort.Slice(p.curves, func(i, j int) bool {
		a, b := p.curves[i].edge, p.curves[j].edge
		return a.From < b.From || a.From == b.From && a.To < b.To
	})
	return p
}

// boxHeight is the height of every box: two lines, and a line each for
// Kubernetes objects and live counts when the picture has them.
func (g *Graph) boxHeight() int {
	h := boxH
	if g.Kube {
		h += liveLine
	}
	if g.Live {
		h += liveLine
	}
	return h
}

// SVG draws the graph as layout places it. Every box carries its resource
// ID as a tooltip.
func (g *Graph) SVG() []byte {
	p := g.layout()
	boxH := g.boxHeight()
	var b bytes.Buffer
	// Scaled to the window's width (the page's zoom enlarges it).
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" id="topology" width="%d" height="%d" viewBox="0 0 %d %d" style="max-width:100%%;height:auto" font-family="Segoe UI, Helvetica, Arial, sans-serif">`+"\n",
		p.width, p.height, p.width, p.height)
	b.WriteString(`<rect width="100%" height="100%" fill="#ffffff"/>` + "\n")
	if g.Cluster != nil {
		g.drawGroups(&b, p)
	}
	for i, title := range columnTitles {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="14" font-weight="600" fill="#323130">%s</text>`+"\n", marginX+i*(boxW+colGap), p.top-24, html.EscapeString(title))
	}
	for _, c := range p.curves {
		fmt.Fprintf(&b, `<path class="edge" data-from="%s" data-to="%s" d="M%d,%d C%d,%d %d,%d %d,%d" fill="none" stroke="#a19f9d" stroke-width="1.5"/>`+"\n",
			html.EscapeString(c.edge.From), html.EscapeString(c.edge.To), c.x1, c.y1, c.mid, c.y1, c.mid, c.y2, c.x2, c.y2)
	}
	for _, bx := range p.boxes {
		n := bx.node
		c, ok := colours[n.Kind]
		if !ok {
			c = [2]string{"#ffffff", "#605e5c"}
		}
		// The whole name, detail and ID: in the tooltip and, for the
		// page's side panel, in data attributes.
		title := n.Label + "\n" + n.Detail
		if n.State != "" {
			title += "\n" + n.State
		}
		if n.Kube != "" {
			title += "\n" + n.Kube
		}
		if n.Live != "" {
			title += "\n" + n.Live
		}
		kube := ""
		if n.Kube != "" {
			kube = ` data-kube="` + html.EscapeString(n.Kube) + `"`
		}
		if len(n.Pods) > 0 {
			kube += ` data-pods="` + html.EscapeString(strings.Join(n.Pods, "\n")) + `"`
		}
		fmt.Fprintf(&b, `<g class="node" tabindex="0" data-kind="%s" data-id="%s" data-label="%s" data-detail="%s" data-live="%s" data-state="%s"%s><title>%s</title>`,
			n.Kind, html.EscapeString(n.ID), html.EscapeString(n.Label), html.EscapeString(n.Detail), html.EscapeString(n.Live), html.EscapeString(n.State),
			kube, html.EscapeString(title+"\n"+n.ID))
		dash := ""
		if n.State != "" {
			// An operation in flight (or failed): a dashed border and its
			// state in the corner.
			dash = ` stroke-dasharray="5 3"`
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="%s" stroke="%s"%s/>`, bx.x, bx.y, boxW, boxH, c[0], c[1], dash)
		if n.State != "" {
			fmt.Fprintf(&b, `<text class="state" x="%d" y="%d" font-size="10" text-anchor="end" fill="%s">%s</text>`, bx.x+boxW-6, bx.y+16, c[1], html.EscapeString(n.State))
		}
		labelRunes := 28
		if n.State != "" {
			labelRunes = 28 - len([]rune(n.State))*3/4 - 1 // room for the state on the right
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" font-weight="600" fill="#201f1e">%s</text>`, bx.x+8, bx.y+17, html.EscapeString(clip(n.Label, labelRunes)))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#605e5c">%s</text>`, bx.x+8, bx.y+33, html.EscapeString(clip(n.Detail, 34)))
		line := bx.y + 33
		if g.Kube {
			line += liveLine
			if n.Kube != "" {
				fmt.Fprintf(&b, `<text class="kube" x="%d" y="%d" font-size="11" fill="#326ce5">%s</text>`, bx.x+8, line, html.EscapeString(clip(n.Kube, 34)))
			}
		}
		if n.Live != "" {
			fmt.Fprintf(&b, `<text class="live" x="%d" y="%d" font-size="11" fill="#107c10">%s</text>`, bx.x+8, line+liveLine, html.EscapeString(clip(n.Live, 34)))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// spread places boxes in order, each at least pitch below the one before,
// as near as they can be to where they want to be (least squares): boxes
// that would overlap form a block centred on what its boxes want.
func spread(want []float64, pitch float64) []float64 {
	type block struct {
		first, n int
		sum      float64 // of want[i] − (i − first)·pitch
	}
	var bs []block
	for i, w := range want {
		bs = append(bs, block{first: i, n: 1, sum: w})
		for len(bs) > 1 {
			a, b := &bs[len(bs)-2], &bs[len(bs)-1]
			if a.sum/float64(a.n)+float64(a.n)*pitch <= b.sum/float64(b.n) {
				break
			}
			a.sum += b.sum - float64(b.n*a.n)*pitch
			a.n += b.n
			bs = bs[:len(bs)-1]
		}
	}
	out := make([]float64, 0, len(want))
	for _, b := range bs {
		top := b.sum / float64(b.n)
		for k := range b.n {
			out = append(out, top+float64(k)*pitch)
		}
	}
	return out
}

// drawGroups draws the two resource groups AKS uses: the user's, with the
// managed cluster (its control plane) in it, and the node resource group
// it manages, around the columns.
func (g *Graph) drawGroups(b *bytes.Buffer, p picture) {
	c := g.Cluster
	id := resourceid.MustParse(c.Record.ID)
	power, issuer := "", ""
	if c.Props.PowerState != nil {
		power = " · " + c.Props.PowerState.Code
	}
	if c.Props.OIDCIssuerProfile != nil && c.Props.OIDCIssuerProfile.IssuerURL != "" {
		issuer = "OIDC issuer " + c.Props.OIDCIssuerProfile.IssuerURL
	}
	groupW := 2*boxW + colGap + 20
	fmt.Fprintf(b, `<rect class="group" x="%d" y="8" width="%d" height="%d" rx="6" fill="#f3f9fd" stroke="#0078d4"/>`+"\n", marginX-10, groupW, bandH-24)
	fmt.Fprintf(b, `<text x="%d" y="26" font-size="12" fill="#0078d4">%s</text>`+"\n", marginX, html.EscapeString("Resource group "+id.ResourceGroupName()))
	label := c.Record.Name + " · managed cluster"
	detail := "Kubernetes " + c.Props.CurrentKubernetesVersion + power + " · " + c.Props.ProvisioningState
	title := label + "\n" + detail + "\nAPI server " + c.Props.FQDN
	if issuer != "" {
		title += "\n" + issuer
	}
	w := 2*boxW + colGap
	fmt.Fprintf(b, `<g class="node" tabindex="0" data-kind="cluster" data-id="%s" data-label="%s" data-detail="%s" data-live="%s" data-state=""><title>%s</title>`,
		html.EscapeString(c.Record.ID), html.EscapeString(label), html.EscapeString(detail+" · API "+c.Props.FQDN), html.EscapeString(issuer),
		html.EscapeString(title+"\n"+c.Record.ID))
	fmt.Fprintf(b, `<rect x="%d" y="34" width="%d" height="%d" rx="4" fill="#ffffff" stroke="#0078d4"/>`, marginX, w, bandH-56)
	fmt.Fprintf(b, `<text x="%d" y="51" font-size="12" font-weight="600" fill="#201f1e">%s</text>`, marginX+8, html.EscapeString(clip(label, 64)))
	fmt.Fprintf(b, `<text x="%d" y="67" font-size="11" fill="#605e5c">%s</text></g>`+"\n", marginX+8, html.EscapeString(clip(detail+" · API "+c.Props.FQDN, 76)))
	// What the cluster's API server says, or why it says nothing.
	kube, colour := g.KubeSummary, "#326ce5"
	if g.KubeStatus != "" {
		kube, colour = "Kubernetes: "+g.KubeStatus, "#605e5c"
	}
	if kube != "" {
		fmt.Fprintf(b, `<text id="kube-status" x="%d" y="51" font-size="12" fill="%s">%s</text>`+"\n", marginX+groupW+10, colour, html.EscapeString(clip(kube, 110)))
	}
	// The node resource group, around the columns, managed by the cluster.
	frameY := p.top - 50
	fmt.Fprintf(b, `<rect class="group" x="%d" y="%d" width="%d" height="%d" rx="6" fill="none" stroke="#8a8886" stroke-dasharray="6 4"/>`+"\n",
		marginX-10, frameY, p.width-2*marginX+20, p.height-frameY-6)
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="12" fill="#605e5c">%s</text>`+"\n", marginX+groupW+10, frameY-8,
		html.EscapeString("Resource group "+c.Props.NodeResourceGroup+" — the node resource group, managedBy "+c.Record.Name))
	fmt.Fprintf(b, `<path class="managed-by" d="M%d,%d L%d,%d" stroke="#0078d4" stroke-width="1.5" stroke-dasharray="3 3"/>`+"\n",
		marginX+w/2, bandH-22+8, marginX+w/2, frameY)
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
