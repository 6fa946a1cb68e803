// Command prepare builds what the Terraform tests need ahead of them (CI
// runs it before the suite, outside go test's ten minutes per package):
// the azurerm provider, azurerm's acceptance-test binary and the utility
// providers its harness declares, and OpenTofu when no Terraform CLI is on
// PATH.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/localaks/localaks/test/terraform"
)

func main() {
	acceptance := flag.Bool("acceptance", false, "also build azurerm's acceptance tests (test/terraform/acctest) and the providers their harness declares")
	flag.Parse()
	ctx := context.Background()
	start := time.Now()
	tf, err := terraform.FindTerraform(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("terraform CLI: %s (%s)\n", tf, time.Since(start).Round(time.Second))
	start = time.Now()
	dir, err := terraform.EnsureProvider(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("azurerm provider: %s (%s)\n", dir, time.Since(start).Round(time.Second))
	if !*acceptance {
		return
	}
	start = time.Now()
	bin, err := terraform.EnsureAcceptance(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("azurerm acceptance tests: %s (%s)\n", bin, time.Since(start).Round(time.Second))
	start = time.Now()
	mirror, err := terraform.EnsureHarnessMirror(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("the harness's utility providers: %s (%s)\n", mirror, time.Since(start).Round(time.Second))
}
