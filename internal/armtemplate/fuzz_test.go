package armtemplate

import "testing"

// FuzzTemplate: any template text parses, binds and evaluates without a
// panic — errors only.
func FuzzTemplate(f *testing.F) {
	f.Add(sample)
	f.Add(`{"resources":[{"type":"A.B/c","apiVersion":"1","name":"[concat('a', string(add(1, 2)))]","copy":{"name":"l","count":2}}]}`)
	f.Add(`{"variables":{"a":"[variables('b')]","b":"[variables('a')]"},"outputs":{"o":{"type":"string","value":"[variables('a')]"}}}`)
	f.Add(`{"resources":[{"type":"A.B/c","apiVersion":"1","name":"[substring('abc', 5, -1)]"}]}`)
	f.Fuzz(func(t *testing.T, text string) {
		tmpl, err := Parse([]byte(text))
		if err != nil {
			return
		}
		d, err := Bind(tmpl, Scope{SubscriptionID: "s", ResourceGroup: "rg", Location: "eastus",
			Reference: func(string, bool) (any, error) { return map[string]any{}, nil }}, nil)
		if err != nil {
			return
		}
		for _, r := range d.Plan {
			d.Body(r) //nolint:errcheck // errors are fine
		}
		d.Outputs() //nolint:errcheck // errors are fine
	})
}
