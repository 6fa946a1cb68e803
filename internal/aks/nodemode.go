package aks

import (
	"net/http"
	"strings"
)

// Node modes. A pool's nodes are simulated (KWOK: cheap, thousands of them)
// or real (a kubelet and containerd per node that run the pods' containers).
// The tag NodesTag asks for a mode: on the pool, or on the cluster as the
// default for its pools; Rules.DefaultNodes is the default for the rest.
// The mode is settled when the pool is made and kept in its hidden state:
// like the pool properties AKS fixes at creation, it cannot change after.

// NodesTag is the tag that asks for a pool's node mode. ARM refuses '/' in
// a resource's tag names, so on the cluster resource (and anywhere else)
// NodesTagARM, the same name with '-', means the same.
const (
	NodesTag    = "localaks.io/nodes"
	NodesTagARM = "localaks.io-nodes"
)

// Node modes.
const (
	NodesSimulated = "simulated"
	NodesReal      = "real"
)

// nodesFromTags reads the mode a tag map asks for ("" when none).
func nodesFromTags(tags map[string]string, target string) (string, error) {
	for k, val := range tags {
		if !strings.EqualFold(k, NodesTag) && !strings.EqualFold(k, NodesTagARM) {
			continue
		}
		switch m := strings.ToLower(strings.TrimSpace(val)); m {
		case NodesSimulated, NodesReal:
			return m, nil
		default:
			return "", Error(http.StatusBadRequest, "InvalidParameter", target,
				"The value '%s' of tag '%s' is invalid: use '%s' or '%s'.", val, k, NodesReal, NodesSimulated)
		}
	}
	return "", nil
}

// settleNodes fixes a new pool's node mode, or checks that a change to an
// existing pool does not ask for another, and that this host can run the
// real nodes a pool asks for.
func (v *Rules) settleNodes(c *Cluster, p *Pool) error {
	asked, err := nodesFromTags(p.Props.Tags, "agentPoolProfile.tags")
	if err != nil {
		return err
	}
	st := p.State()
	if st.Nodes == "" && p.Props.ProvisioningState != "" {
		// A pool recorded before node modes: its nodes were simulated.
		st.Nodes = NodesSimulated
	}
	if st.Nodes != "" {
		if asked != "" && asked != st.Nodes {
			return Error(http.StatusBadRequest, "PropertyChangeNotAllowed", "agentPoolProfile.tags",
				"Changing the node mode of agent pool '%s' from %s to %s is not allowed: it is fixed when the pool is created. Create a new pool with tag %s=%s instead.",
				p.Record.Name, st.Nodes, asked, NodesTag, asked)
		}
	} else {
		mode := asked
		if mode == "" {
			if mode, err = nodesFromTags(c.Record.Tags, "tags"); err != nil {
				return err
			}
		}
		if mode == "" {
			mode = v.DefaultNodes
		}
		if mode == "" {
			mode = NodesSimulated
		}
		st.Nodes = mode
	}
	if st.Nodes != NodesReal {
		return nil
	}
	if p.Props.OSType != "" && !strings.EqualFold(p.Props.OSType, "Linux") {
		return Error(http.StatusBadRequest, "InvalidParameter", "agentPoolProfile.tags",
			"Agent pool '%s' cannot have real nodes: real nodes run Linux only (osType is %s).", p.Record.Name, p.Props.OSType)
	}
	if v.HostMissing == nil {
		return nil
	}
	if missing := v.HostMissing(); len(missing) > 0 {
		return Error(http.StatusBadRequest, "RealNodesUnavailable", "agentPoolProfile.tags",
			"Agent pool '%s' asks for real nodes, but this host cannot run them: it lacks %s. Install what is missing (see the README, 'Real nodes'), or leave the pool simulated.",
			p.Record.Name, strings.Join(missing, "; "))
	}
	return nil
}

// Real reports whether the pool's nodes are real.
func (p *Pool) Real() bool {
	return p.Props.Localaks != nil && p.Props.Localaks.Nodes == NodesReal
}
