package arm

import (
	"encoding/json"
	"testing"
)

func TestStandardizeJSONC(t *testing.T) {
	in := `{"properties": {"mode": "Incremental", template: {
  // a comment with "quotes" and a comma,
  "resources": [ /* none */ ],
  "variables": {"url": "https://x//y", "s": "a, }", "b": [true, null,],},
}, "parameters": {}}}`
	var v map[string]any
	if err := json.Unmarshal(standardizeJSONC([]byte(in)), &v); err != nil {
		t.Fatalf("%v\n%s", err, standardizeJSONC([]byte(in)))
	}
	tmpl := v["properties"].(map[string]any)["template"].(map[string]any)
	vars := tmpl["variables"].(map[string]any)
	if vars["url"] != "https://x//y" || vars["s"] != "a, }" || len(vars["b"].([]any)) != 2 {
		t.Errorf("variables = %v", vars)
	}
	if out := standardizeJSONC([]byte(`{"a": 1}`)); string(out) != `{"a": 1}` {
		t.Errorf("plain JSON changed: %s", out)
	}
}

// FuzzStandardizeJSONC: the JSONC fix-up never panics and leaves valid
// JSON valid.
func FuzzStandardizeJSONC(f *testing.F) {
	f.Add(`{"a": 1, b: [1, 2,], /* c */ "d": "e // f"}`)
	f.Add(`{"properties": {template: {"x": "y"}}}`)
	f.Fuzz(func(t *testing.T, in string) {
		out := standardizeJSONC([]byte(in))
		if json.Valid([]byte(in)) && !json.Valid(out) {
			t.Errorf("valid JSON became invalid: %q → %q", in, out)
		}
	})
}
