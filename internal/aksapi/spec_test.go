package aksapi

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's AKS API table")

const (
	tableStart = "<!-- aks-api-table: rendered from internal/aksapi/data/operations.json by TestREADMETable -->\n"
	tableEnd   = "<!-- /aks-api-table -->"
)

// TestREADMETable: the README's table of the AKS operations localaks
// serves is the one CoverageTable renders from the spec data (which
// TestAKSAPICoverage holds to what is routed).
func TestREADMETable(t *testing.T) {
	const path = "../../README.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	i, j := strings.Index(readme, tableStart), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q section", strings.TrimSpace(tableStart), tableEnd)
	}
	want := readme[:i+len(tableStart)] + CoverageTable() + readme[j:]
	if readme == want {
		return
	}
	if *updateREADME {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's AKS API table is not the spec data's; run go test ./internal/aksapi -run TestREADMETable -update-readme")
}

// TestSpecOperations: the data is whole — every operation has a method, a
// path and a first api-version.
func TestSpecOperations(t *testing.T) {
	ops := SpecOperations()
	if len(ops) < 69 {
		t.Fatalf("%d operations", len(ops))
	}
	seen := map[string]bool{}
	for _, o := range ops {
		if o.OperationID == "" || o.Method == "" || !strings.HasPrefix(o.Path, "/") || seen[o.OperationID] {
			t.Errorf("operation %+v", o)
		}
		seen[o.OperationID] = true
	}
}
