package network

import "strings"

// runSteps runs a preparer's steps in order and stops at the first error,
// so the order of the steps decides which error a request with several
// mistakes gets.
func runSteps(steps ...func() error) error {
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// childRefs checks that a reference points at a child of the same parent
// (a load balancer, an application gateway) in the given child array.
type childRefs struct {
	parentID string
	names    map[string]map[string]bool // field → lower-case names
}

func (l childRefs) check(owner string, ref *SubResource, field string) error {
	if ref == nil {
		return nil
	}
	prefix := strings.ToLower(l.parentID + "/" + field + "/")
	id := strings.ToLower(ref.ID)
	if !strings.HasPrefix(id, prefix) || !l.names[field][strings.TrimPrefix(id, prefix)] {
		return badRequest("InvalidResourceReference",
			"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", ref.ID, owner)
	}
	return nil
}
