package portal

import (
	"sort"
	"strings"
)

// kindRank orders boxes of a column before the layout moves them: what
// Azure puts first in a group comes first.
var kindRank = map[string]int{
	"pip": 0, "frontend": 1, "gateway": 2, "rule": 3, "gwrule": 3, "outbound": 4, "vmss": 5, "node": 6, "more": 7,
	"subnet": 8, "nsg": 9, "routes": 10,
}

// sweeps is how many times the ordering passes over the columns, left to
// right and back.
const sweeps = 6

// arrange orders each column's boxes so that edges cross as little as
// they can — the barycentre heuristic of layered graph drawing: a box goes
// where the boxes it is joined to are, in sweeps left to right and back,
// keeping the order with the fewest crossings. The start (by kind, then
// name, then ID) and every tie are decided by the boxes alone, so the same
// graph always draws the same picture, whatever order its parts came in.
func (g *Graph) arrange() [columns][]*Node {
	var cols [columns][]*Node
	for _, n := range g.Nodes {
		cols[n.Column] = append(cols[n.Column], n)
	}
	for c := range cols {
		sort.SliceStable(cols[c], func(i, j int) bool { return less(cols[c][i], cols[c][j]) })
	}
	// Neighbours in other columns; a column's own edges (a subnet and its
	// security group) pull the second after the first.
	nb := map[*Node][]*Node{}
	for _, e := range g.Edges {
		a, b := g.byID[e.From], g.byID[e.To]
		if a == nil || b == nil || a == b {
			continue
		}
		nb[a] = append(nb[a], b)
		nb[b] = append(nb[b], a)
	}
	pos := map[*Node]float64{}
	index := func() {
		for _, col := range cols {
			for i, n := range col {
				pos[n] = float64(i)
			}
		}
	}
	index()
	best, bestCross := snapshot(cols), crossings(cols, nb, pos)
	for s := 0; s < sweeps && bestCross > 0; s++ {
		order := make([]int, 0, columns)
		for c := range columns {
			order = append(order, c)
		}
		if s%2 == 1 {
			for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
				order[i], order[j] = order[j], order[i]
			}
		}
		for _, c := range order {
			key := map[*Node]float64{}
			for _, n := range cols[c] {
				sum, k := 0.0, 0
				for _, m := range nb[n] {
					if s%2 == 0 && m.Column < c || s%2 == 1 && m.Column > c {
						sum += pos[m]
						k++
					}
				}
				key[n] = pos[n]
				if k > 0 {
					key[n] = sum / float64(k)
				}
			}
			sort.SliceStable(cols[c], func(i, j int) bool {
				a, b := cols[c][i], cols[c][j]
				if key[a] != key[b] {
					return key[a] < key[b]
				}
				return less(a, b)
			})
			// Boxes joined within the column follow the first they are
			// joined to (a security group after its subnets).
			cols[c] = followWithin(cols[c], nb)
			for i, n := range cols[c] {
				pos[n] = float64(i)
			}
		}
		if x := crossings(cols, nb, pos); x < bestCross {
			best, bestCross = snapshot(cols), x
		}
	}
	return best
}

// less is the order boxes start in and ties break by.
func less(a, b *Node) bool {
	if ra, rb := kindRank[a.Kind], kindRank[b.Kind]; ra != rb {
		return ra < rb
	}
	if la, lb := strings.ToLower(a.Label), strings.ToLower(b.Label); la != lb {
		return la < lb
	}
	return strings.ToLower(a.ID) < strings.ToLower(b.ID)
}

// followWithin keeps a column's boxes in order but moves those of a later
// kind joined to others of the column (security groups, route tables)
// after the last box they are joined to.
func followWithin(col []*Node, nb map[*Node][]*Node) []*Node {
	in := map[*Node]int{}
	for i, n := range col {
		in[n] = i
	}
	var free, tied []*Node
	anchor := map[*Node]int{}
	for _, n := range col {
		last := -1
		for _, m := range nb[n] {
			if i, ok := in[m]; ok && m.Column == n.Column && kindRank[m.Kind] < kindRank[n.Kind] {
				last = max(last, i)
			}
		}
		if last < 0 {
			free = append(free, n)
			continue
		}
		anchor[n] = last
		tied = append(tied, n)
	}
	if len(tied) == 0 {
		return col
	}
	out := make([]*Node, 0, len(col))
	for _, n := range free {
		out = append(out, n)
		for _, t := range tied {
			if col[anchor[t]] == n {
				out = append(out, t)
			}
		}
	}
	// A box tied to another tied box (none today) keeps its place at the end.
	for _, t := range tied {
		found := false
		for _, o := range out {
			if o == t {
				found = true
				break
			}
		}
		if !found {
			out = append(out, t)
		}
	}
	return out
}

func snapshot(cols [columns][]*Node) [columns][]*Node {
	var out [columns][]*Node
	for c := range cols {
		out[c] = append([]*Node(nil), cols[c]...)
	}
	return out
}

// crossings counts pairs of edges between the same two columns that
// cross, for the positions given.
func crossings(cols [columns][]*Node, nb map[*Node][]*Node, pos map[*Node]float64) int {
	type seg struct{ a, b float64 }
	byPair := map[[2]int][]seg{}
	for _, col := range cols {
		for _, n := range col {
			for _, m := range nb[n] {
				if m.Column > n.Column {
					k := [2]int{n.Column, m.Column}
					byPair[k] = append(byPair[k], seg{pos[n], pos[m]})
				}
			}
		}
	}
	total := 0
	for _, segs := range byPair {
		for i := range segs {
			for j := i + 1; j < len(segs); j++ {
				if (segs[i].a-segs[j].a)*(segs[i].b-segs[j].b) < 0 {
					total++
				}
			}
		}
	}
	return total
}
