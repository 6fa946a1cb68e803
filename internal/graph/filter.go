package graph

import (
	"fmt"
	"strings"
)

// The OData $filter subset that directory clients send:
//
//	prop eq 'v'                 (also ne; true, false and null literals)
//	startswith(prop,'v')
//	coll/any(x:x eq 'v')        coll/any(x:startswith(x,'v'))
//	id in ('a','b')
//
// joined by and / or (left to right; parentheses group). Strings compare
// case-insensitively, as the directory's do.

type predicate func(doc map[string]any) bool

type lexer struct {
	s   string
	pos int
}

func parseFilter(s string) (predicate, error) {
	l := &lexer{s: s}
	p, err := l.expr()
	if err != nil {
		return nil, err
	}
	l.space()
	if l.pos != len(l.s) {
		return nil, fmt.Errorf("unexpected %q", l.s[l.pos:])
	}
	return p, nil
}

func (l *lexer) space() {
	for l.pos < len(l.s) && l.s[l.pos] == ' ' {
		l.pos++
	}
}

// word reads an identifier or path (letters, digits, '/', '.', '_', '@').
func (l *lexer) word() string {
	l.space()
	start := l.pos
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		if c == '(' || c == ')' || c == ',' || c == ' ' || c == '\'' || c == ':' {
			break
		}
		l.pos++
	}
	return l.s[start:l.pos]
}

func (l *lexer) peekWord() string {
	save := l.pos
	w := l.word()
	l.pos = save
	return w
}

func (l *lexer) expect(c byte) error {
	l.space()
	if l.pos >= len(l.s) || l.s[l.pos] != c {
		return fmt.Errorf("expected %q at %d", c, l.pos)
	}
	l.pos++
	return nil
}

// literal reads 'string' (with ” for a quote), true, false or null.
func (l *lexer) literal() (any, error) {
	l.space()
	if l.pos < len(l.s) && l.s[l.pos] == '\'' {
		l.pos++
		var b strings.Builder
		for l.pos < len(l.s) {
			c := l.s[l.pos]
			l.pos++
			if c == '\'' {
				if l.pos < len(l.s) && l.s[l.pos] == '\'' {
					b.WriteByte('\'')
					l.pos++
					continue
				}
				return b.String(), nil
			}
			b.WriteByte(c)
		}
		return nil, fmt.Errorf("unterminated string")
	}
	switch w := l.word(); w {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	default:
		return nil, fmt.Errorf("unsupported literal %q", w)
	}
}

func (l *lexer) expr() (predicate, error) {
	left, err := l.term()
	if err != nil {
		return nil, err
	}
	for {
		switch strings.ToLower(l.peekWord()) {
		case "and":
			l.word()
			right, err := l.term()
			if err != nil {
				return nil, err
			}
			a, b := left, right
			left = func(d map[string]any) bool { return a(d) && b(d) }
		case "or":
			l.word()
			right, err := l.term()
			if err != nil {
				return nil, err
			}
			a, b := left, right
			left = func(d map[string]any) bool { return a(d) || b(d) }
		default:
			return left, nil
		}
	}
}

func (l *lexer) term() (predicate, error) {
	l.space()
	if l.pos < len(l.s) && l.s[l.pos] == '(' {
		l.pos++
		p, err := l.expr()
		if err != nil {
			return nil, err
		}
		return p, l.expect(')')
	}
	w := l.word()
	if strings.EqualFold(w, "startswith") {
		path, val, err := l.startsWithArgs()
		if err != nil {
			return nil, err
		}
		return func(d map[string]any) bool { return hasPrefixFold(lookup(d, path), val) }, nil
	}
	if coll, ok := strings.CutSuffix(w, "/any"); ok {
		return l.any(coll)
	}
	op := strings.ToLower(l.word())
	switch op {
	case "eq", "ne":
		v, err := l.literal()
		if err != nil {
			return nil, err
		}
		return func(d map[string]any) bool { return equalValue(lookup(d, w), v) == (op == "eq") }, nil
	case "in":
		if err := l.expect('('); err != nil {
			return nil, err
		}
		var vals []any
		for {
			v, err := l.literal()
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
			l.space()
			if l.pos < len(l.s) && l.s[l.pos] == ',' {
				l.pos++
				continue
			}
			break
		}
		if err := l.expect(')'); err != nil {
			return nil, err
		}
		return func(d map[string]any) bool {
			for _, v := range vals {
				if equalValue(lookup(d, w), v) {
					return true
				}
			}
			return false
		}, nil
	}
	return nil, fmt.Errorf("unsupported operator %q", op)
}

// startsWithArgs reads "(path,'value')".
func (l *lexer) startsWithArgs() (string, string, error) {
	if err := l.expect('('); err != nil {
		return "", "", err
	}
	path := l.word()
	if err := l.expect(','); err != nil {
		return "", "", err
	}
	v, err := l.literal()
	if err != nil {
		return "", "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", "", fmt.Errorf("startswith needs a string")
	}
	return path, s, l.expect(')')
}

// any reads "(x:x eq 'v')" or "(x:startswith(x,'v'))" after coll/any.
func (l *lexer) any(coll string) (predicate, error) {
	if err := l.expect('('); err != nil {
		return nil, err
	}
	l.word() // the range variable
	if err := l.expect(':'); err != nil {
		return nil, err
	}
	var match func(any) bool
	if w := l.word(); strings.EqualFold(w, "startswith") {
		_, val, err := l.startsWithArgs()
		if err != nil {
			return nil, err
		}
		match = func(x any) bool { return hasPrefixFold(x, val) }
	} else {
		if op := strings.ToLower(l.word()); op != "eq" {
			return nil, fmt.Errorf("unsupported operator %q in any()", op)
		}
		v, err := l.literal()
		if err != nil {
			return nil, err
		}
		match = func(x any) bool { return equalValue(x, v) }
	}
	if err := l.expect(')'); err != nil {
		return nil, err
	}
	return func(d map[string]any) bool {
		items, _ := lookup(d, coll).([]any)
		for _, it := range items {
			if match(it) {
				return true
			}
		}
		return false
	}, nil
}

// lookup follows a property path (a/b) through a document.
func lookup(d map[string]any, path string) any {
	var cur any = d
	for _, p := range strings.Split(path, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func equalValue(have, want any) bool {
	if s, ok := want.(string); ok {
		h, ok := have.(string)
		return ok && strings.EqualFold(h, s)
	}
	return have == want
}

func hasPrefixFold(have any, prefix string) bool {
	s, ok := have.(string)
	return ok && len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
