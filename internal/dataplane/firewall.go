package dataplane

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"

	"github.com/localaks/localaks/internal/clusterspec"
)

// firewall is an application gateway's web application firewall: the
// OWASP Core Rule Set (4.x, as the coraza-coreruleset module embeds it)
// run by Coraza, with the CRS's own anomaly scoring at paranoia level 1.
// Prevention blocks a request whose score reaches the CRS's threshold with
// Application Gateway's 403; Detection only logs what matched. Whatever
// rule set the policy names (OWASP 3.x, Microsoft's default rule sets),
// this is what runs: the CRS is what those rule sets are built on.
type firewall struct {
	waf     coraza.WAF
	prevent bool
}

func newFirewall(cfg clusterspec.AGFirewall) (*firewall, error) {
	engine := "DetectionOnly"
	prevent := strings.EqualFold(cfg.Mode, "Prevention")
	if prevent {
		engine = "On"
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithRootFS(coreruleset.FS).WithDirectives(`
Include @coraza.conf-recommended
Include @crs-setup.conf.example
Include @owasp_crs/*.conf
SecRuleEngine ` + engine + `
SecRequestBodyAccess On
SecResponseBodyAccess Off
`))
	if err != nil {
		return nil, fmt.Errorf("load the core rule set: %w", err)
	}
	return &firewall{waf: waf, prevent: prevent}, nil
}

// block inspects r's headers and body; when the firewall blocks it, it
// answers 403 and returns true. r's body stays readable for the backend.
func (f *firewall) block(w http.ResponseWriter, r *http.Request, log func(msg string, args ...any)) bool {
	tx := f.waf.NewTransaction()
	defer func() {
		tx.ProcessLogging()
		tx.Close() //nolint:errcheck // nothing to do about it
	}()
	host, port, _ := net.SplitHostPort(r.RemoteAddr)
	p, _ := strconv.Atoi(port)
	tx.ProcessConnection(host, p, "", 0)
	tx.ProcessURI(r.URL.RequestURI(), r.Method, r.Proto)
	for k, vs := range r.Header {
		for _, v := range vs {
			tx.AddRequestHeader(k, v)
		}
	}
	if r.Host != "" {
		tx.AddRequestHeader("Host", r.Host)
		tx.SetServerName(r.Host)
	}
	it := tx.ProcessRequestHeaders()
	if it == nil && r.Body != nil && r.Body != http.NoBody {
		// The first 128 KiB are inspected (Application Gateway's default
		// inspection limit); the backend gets the whole body.
		orig := r.Body
		body, err := io.ReadAll(io.LimitReader(orig, 128<<10))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), orig), orig}
		if err == nil {
			if _, _, err := tx.WriteRequestBody(body); err == nil {
				it, _ = tx.ProcessRequestBody()
			}
		}
	} else if it == nil {
		it, _ = tx.ProcessRequestBody()
	}
	var matched []string
	for _, m := range tx.MatchedRules() {
		if m.Message() != "" {
			matched = append(matched, fmt.Sprintf("%d %s", m.Rule().ID(), m.Message()))
		}
	}
	if it == nil {
		if len(matched) > 0 {
			log("web application firewall (detection): request matched", "uri", r.URL.RequestURI(), "rules", strings.Join(matched, "; "))
		}
		return false
	}
	log("web application firewall: request blocked", "uri", r.URL.RequestURI(), "rule", it.RuleID, "rules", strings.Join(matched, "; "))
	gwError(w, http.StatusForbidden)
	return true
}
