package authorization

import (
	"context"
	"fmt"
	"testing"

	"github.com/localaks/localaks/internal/store"
)

// BenchmarkPermits is one request's role check: the caller Owner of the
// subscription, the scope a resource group — "cold" a different group
// each time (as the ARM benchmark's GETs), "cached" the same one.
func BenchmarkPermits(b *testing.B) {
	e := newEnv(b)
	e.must("PUT", assignmentPath(subPath, a1)+apiV, assignment(definitionPath(subPath, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"), principal, "User"), 201)
	for _, mode := range []string{"cold", "cached"} {
		b.Run(mode, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				scope := subPath + "/resourceGroups/rg"
				if mode == "cold" {
					scope = fmt.Sprintf("%s/resourceGroups/rg%d", subPath, i)
				}
				if err := e.st.View(context.Background(), func(tx store.Tx) error {
					ok, err := Permits(tx, principal, scope, "Microsoft.Resources/subscriptions/resourceGroups/read")
					if err == nil && !ok {
						err = fmt.Errorf("not permitted")
					}
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
