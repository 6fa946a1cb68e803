package graph

import "testing"

// FuzzParseFilter: any $filter parses or is refused; none panics, and a
// parsed one evaluates on any document.
func FuzzParseFilter(f *testing.F) {
	for _, seed := range []string{"displayName eq 'a'", "startswith(displayName,'x')", "servicePrincipalNames/any(c:c eq 'x')",
		"id in ('a','b')", "(a eq 'x') or b ne null", "a eq 'it''s'", "x/any(y:startswith(y,'z')) and q eq true", "eq", "'", "(", "a in (", "startswith("} {
		f.Add(seed)
	}
	doc := map[string]any{"displayName": "abc", "servicePrincipalNames": []any{"x", 3}, "a": map[string]any{"b": "c"}}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseFilter(s)
		if err == nil {
			p(doc)
		}
	})
}
