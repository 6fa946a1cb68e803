// Command acctest runs azurerm's own acceptance tests for AKS
// (TestAccKubernetesCluster*, TestAccKubernetesClusterNodePool* of its
// internal/services/containers package) against a localaks in this
// process, and prints one row per test: passed, failed (with the first
// error Terraform showed) or skipped (with the reason).
//
// The binary is azurerm's test binary built from the Go module proxy
// (test/terraform.EnsureAcceptance); it drives the real Terraform CLI with
// the provider in-process, configured as azurerm's harness reads it from
// the environment: ARM_METADATA_HOSTNAME (a custom cloud's metadata
// host, which localaks serves), the built-in service principal and the
// local CA. The utility providers the harness declares for every test
// come from a filesystem mirror (test/terraform.EnsureHarnessMirror).
//
//	go run ./test/terraform/acctest -run 'TestAccKubernetesCluster_basic' [-parallel 4] [-markdown]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/datadir"
	"github.com/localaks/localaks/internal/server"
	"github.com/localaks/localaks/test/terraform"
)

// Families is the default selection: the AKS cluster and node pool tests.
const Families = `^TestAccKubernetesCluster(NodePool)?_`

// Result is one test's outcome.
type Result struct {
	Name    string
	Outcome string // pass, fail or skip
	Elapsed time.Duration
	Reason  string // the first error of a failure, the reason of a skip
}

// Options selects and paces a run.
type Options struct {
	Run      string // -test.run pattern
	Skip     string // -test.skip pattern
	Parallel int
	Timeout  time.Duration
	Log      io.Writer // each test's output, when set
}

func main() {
	var o Options
	flag.StringVar(&o.Run, "run", Families, "tests to run (a -test.run pattern)")
	flag.StringVar(&o.Skip, "skip", "", "tests to leave out (a -test.skip pattern)")
	flag.IntVar(&o.Parallel, "parallel", 4, "tests at once")
	flag.DurationVar(&o.Timeout, "timeout", 3*time.Hour, "the whole run's limit")
	markdown := flag.Bool("markdown", false, "print the table in Markdown")
	logPath := flag.String("log", "", "write every test's output to this file")
	flag.Parse()
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		o.Log = f
	}
	ctx := context.Background()
	results, err := Run(ctx, o)
	if err != nil {
		fail(err)
	}
	print(os.Stdout, results, *markdown)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "acctest:", err)
	os.Exit(1)
}

// Run builds (once per machine) what the tests need, starts localaks and
// runs the selected tests.
func Run(ctx context.Context, o Options) ([]Result, error) {
	tf, err := terraform.FindTerraform(ctx)
	if err != nil {
		return nil, err
	}
	bin, err := terraform.EnsureAcceptance(ctx)
	if err != nil {
		return nil, err
	}
	mirror, err := terraform.EnsureHarnessMirror(ctx)
	if err != nil {
		return nil, err
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, err
	}

	tmp, err := os.MkdirTemp("", "localaks-acctest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	data := datadir.Dir{Path: filepath.Join(tmp, "data")}
	// A second service principal, for the tests of clusters with one.
	altID, altSecret := uuid.NewString(), uuid.NewString()
	srv, err := server.New(ctx, server.Config{DataDir: data, Listen: []string{"127.0.0.1:0"}, ServicePrincipals: map[string]string{altID: altSecret}})
	if err != nil {
		return nil, err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Run(sctx) }()
	defer func() {
		stop()
		<-served
	}()

	cli := filepath.Join(tmp, "terraformrc")
	if err := os.WriteFile(cli, []byte(fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path    = %q\n    include = [\"registry.terraform.io/hashicorp/*\"]\n  }\n}\n", mirror)), 0o644); err != nil {
		return nil, err
	}
	c := srv.Client()
	env := append(os.Environ(),
		"TF_ACC=1", "TF_ACC_TERRAFORM_PATH="+tf, "TF_CLI_CONFIG_FILE="+cli, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "HOME="+tmp,
		"ARM_METADATA_HOSTNAME="+strings.TrimPrefix(srv.URL(), "https://"),
		"ARM_TENANT_ID="+c.TenantID, "ARM_SUBSCRIPTION_ID="+c.SubscriptionID, "ARM_CLIENT_ID="+c.ClientID, "ARM_CLIENT_SECRET="+c.ClientSecret,
		"ARM_CLIENT_ID_ALT="+altID, "ARM_CLIENT_SECRET_ALT="+altSecret,
		"ARM_TEST_LOCATION=westeurope", "ARM_TEST_LOCATION_ALT=eastus", "ARM_TEST_LOCATION_ALT2=westus2",
		"SSL_CERT_FILE="+data.CABundle())

	args := []string{"tool", "test2json", "-t", bin, "-test.v=test2json", "-test.run", o.Run,
		"-test.parallel", fmt.Sprint(max(o.Parallel, 1)), "-test.timeout", o.Timeout.String()}
	if o.Skip != "" {
		args = append(args, "-test.skip", o.Skip)
	}
	cmd := exec.CommandContext(ctx, gobin, args...)
	cmd.Env, cmd.Dir = env, tmp
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	results := collect(out, o.Log)
	if err := cmd.Wait(); err != nil && len(results) == 0 {
		return nil, fmt.Errorf("azurerm's acceptance tests: %w", err)
	}
	return results, nil
}

// event is one line of test2json.
type event struct {
	Action  string
	Test    string
	Elapsed float64
	Output  string
}

// collect reads test2json events into one result per top-level test.
func collect(r io.Reader, log io.Writer) []Result {
	outputs := map[string]*strings.Builder{}
	var results []Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Test == "" || strings.Contains(e.Test, "/") {
			continue
		}
		b := outputs[e.Test]
		if b == nil {
			b = &strings.Builder{}
			outputs[e.Test] = b
		}
		switch e.Action {
		case "output":
			b.WriteString(e.Output)
			if log != nil {
				fmt.Fprintf(log, "%s: %s", e.Test, e.Output)
			}
		case "pass", "fail", "skip":
			res := Result{Name: e.Test, Outcome: e.Action, Elapsed: time.Duration(e.Elapsed * float64(time.Second))}
			if e.Action != "pass" {
				res.Reason = reason(b.String(), e.Action)
			}
			results = append(results, res)
			fmt.Fprintf(os.Stderr, "%-4s %-90s %6.1fs %s\n", e.Action, e.Test, e.Elapsed, firstLine(res.Reason))
		}
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })
	return results
}

var (
	errorLine = regexp.MustCompile(`(?m)^\s*Error: (.*)$`)
	skipLine  = regexp.MustCompile(`(?m)^\s*\S+\.go:\d+: (.*)$`)
	spaces    = regexp.MustCompile(`\s+`)
)

// reason is a failure's first Terraform error (with what follows it up to
// a blank line) or a skip's message.
func reason(out, action string) string {
	if action == "skip" {
		if m := skipLine.FindStringSubmatch(out); m != nil {
			return m[1]
		}
		return ""
	}
	if loc := errorLine.FindStringSubmatchIndex(out); loc != nil {
		rest := out[loc[2]:]
		if i := strings.Index(rest, "\n\n"); i > 0 {
			rest = rest[:i]
		}
		return strings.TrimSpace(spaces.ReplaceAllString(rest, " "))
	}
	for _, line := range strings.Split(out, "\n") {
		if m := skipLine.FindStringSubmatch(line); m != nil {
			return strings.TrimSpace(m[1])
		}
	}
	return ""
}

func firstLine(s string) string {
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// print writes the results as a table and a count.
func print(w io.Writer, results []Result, markdown bool) {
	n := map[string]int{}
	if markdown {
		fmt.Fprintln(w, "| test | result | time | first error / reason |")
		fmt.Fprintln(w, "|---|---|---|---|")
	}
	for _, r := range results {
		n[r.Outcome]++
		if markdown {
			fmt.Fprintf(w, "| `%s` | %s | %.0f s | %s |\n", r.Name, r.Outcome, r.Elapsed.Seconds(), strings.ReplaceAll(r.Reason, "|", `\|`))
		} else {
			fmt.Fprintf(w, "%-4s %-90s %6.1fs %s\n", r.Outcome, r.Name, r.Elapsed.Seconds(), r.Reason)
		}
	}
	fmt.Fprintf(w, "\n%d passed, %d failed, %d skipped\n", n["pass"], n["fail"], n["skip"])
}
