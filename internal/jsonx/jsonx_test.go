package jsonx

import (
	"encoding/json"
	"testing"
)

type known struct {
	A string `json:"a,omitempty"`
	B *int   `json:"b,omitempty"`
	C int    `json:"-"`
}

func TestRoundTripKeepsUnknownKeys(t *testing.T) {
	var k known
	extra, err := Decode([]byte(`{"a":"x","b":1,"zz":{"deep":[1,2]},"c":3}`), &k)
	if err != nil {
		t.Fatal(err)
	}
	k.A, k.B = "y", nil // change one key, drop another
	out, err := Encode(extra, &k)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(out, &got)
	if got["a"] != "y" {
		t.Errorf("a = %v", got["a"])
	}
	if _, ok := got["b"]; ok {
		t.Errorf("b should be gone (omitted by the typed part): %s", out)
	}
	if _, ok := got["zz"]; !ok {
		t.Errorf("unknown key lost: %s", out)
	}
	if _, ok := got["c"]; !ok {
		t.Errorf("key named like an ignored field lost: %s", out)
	}
	if _, err := Decode([]byte(`[1]`), &k); err == nil {
		t.Error("array accepted as an object")
	}
}

type inner struct {
	X string `json:"x,omitempty"`
}

type outer struct {
	In   *inner            `json:"in,omitempty"`
	Many map[string]*inner `json:"many,omitempty"`
	List []inner           `json:"list,omitempty"`
}

func TestRoundTripKeepsUnknownKeysAtDepth(t *testing.T) {
	var o outer
	extra, err := Decode([]byte(`{"in":{"x":"a","more":"kept"},"many":{"k":{"x":"b","deep":1}},"list":[{"x":"c","lost":1}]}`), &o)
	if err != nil {
		t.Fatal(err)
	}
	o.In.X, o.Many["k"].X = "A", "" // change one modelled key, drop another
	out, err := Encode(extra, &o)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"in":{"more":"kept","x":"A"},"list":[{"x":"c"}],"many":{"k":{"deep":1}}}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}
