package armtemplate

import (
	"fmt"
	"strconv"
	"strings"
)

// An expression is the text between the brackets of a template string
// "[...]": function calls, string and number literals, property access
// (.name) and indexing ([i]).

type node interface{}

type (
	literal struct{ v any }
	call    struct {
		name string
		args []node
	}
	property struct {
		base node
		name string
	}
	indexed struct {
		base  node
		index node
	}
)

// isExpression reports whether a template string is an expression ("[...]"
// but not the escaped literal "[[...").
func isExpression(s string) bool {
	return len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' && !strings.HasPrefix(s, "[[")
}

// unescape turns "[[..." into "[...".
func unescape(s string) string {
	if strings.HasPrefix(s, "[[") {
		return s[1:]
	}
	return s
}

type parser struct {
	src string
	pos int
}

// parseExpression parses the inside of "[...]".
func parseExpression(src string) (node, error) {
	p := &parser{src: src}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, p.errorf("unexpected %q", p.src[p.pos:])
	}
	return n, nil
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("the language expression '%s' is not valid: %s (at position %d)", p.src, fmt.Sprintf(format, args...), p.pos)
}

func (p *parser) space() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

func (p *parser) peek() byte {
	p.space()
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *parser) expr() (node, error) {
	n, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch p.peek() {
		case '.':
			p.pos++
			p.space()
			name := p.ident()
			if name == "" {
				return nil, p.errorf("a property name must follow '.'")
			}
			n = property{base: n, name: name}
		case '[':
			p.pos++
			idx, err := p.expr()
			if err != nil {
				return nil, err
			}
			if p.peek() != ']' {
				return nil, p.errorf("']' expected")
			}
			p.pos++
			n = indexed{base: n, index: idx}
		default:
			return n, nil
		}
	}
}

func (p *parser) ident() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (p.pos > start && c >= '0' && c <= '9') {
			p.pos++
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

func (p *parser) primary() (node, error) {
	c := p.peek()
	switch {
	case c == '\'':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		p.pos++
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.') {
			p.pos++
		}
		text := p.src[start:p.pos]
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return literal{n}, nil
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, p.errorf("bad number %q", text)
		}
		return literal{f}, nil
	case c == 0:
		return nil, p.errorf("unexpected end")
	}
	name := p.ident()
	if name == "" {
		return nil, p.errorf("unexpected %q", string(c))
	}
	if p.peek() != '(' {
		switch strings.ToLower(name) {
		case "true":
			return literal{true}, nil
		case "false":
			return literal{false}, nil
		case "null":
			return literal{nil}, nil
		}
		return nil, p.errorf("'(' expected after %s", name)
	}
	p.pos++
	var args []node
	if p.peek() == ')' {
		p.pos++
		return call{name: strings.ToLower(name), args: args}, nil
	}
	for {
		arg, err := p.expr()
		if err != nil {
			return nil, err
		}
		args = append(args, arg)
		switch p.peek() {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return call{name: strings.ToLower(name), args: args}, nil
		default:
			return nil, p.errorf("',' or ')' expected in the arguments of %s", name)
		}
	}
}

func (p *parser) str() (node, error) {
	p.pos++ // opening quote
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '\'' {
			if p.pos+1 < len(p.src) && p.src[p.pos+1] == '\'' {
				b.WriteByte('\'')
				p.pos += 2
				continue
			}
			p.pos++
			return literal{b.String()}, nil
		}
		b.WriteByte(c)
		p.pos++
	}
	return nil, p.errorf("unterminated string")
}
