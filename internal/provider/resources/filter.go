package resources

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

// filter is a parsed ARM $filter: a conjunction of the predicates ARM's
// resource and resource-group listings support.
type filter struct {
	preds []func(*store.Resource) bool
}

func (f *filter) match(r *store.Resource) bool {
	for _, p := range f.preds {
		if !p(r) {
			return false
		}
	}
	return true
}

// parseFilter parses expressions such as
//
//	resourceType eq 'Microsoft.Network/virtualNetworks'
//	tagName eq 'env' and tagValue eq 'prod'
//	substringof('web', name) and location eq 'eastus'
//	startswith(tagName, 'aks-')
//
// Anything else is a 400, as ARM answers filters it does not support.
func parseFilter(s string) (*filter, error) {
	f := &filter{}
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	toks, err := tokenize(s)
	if err != nil {
		return nil, errFilter(s)
	}
	var tagName, tagValue *string
	tagPrefix := ""
	for i := 0; i < len(toks); {
		if i > 0 {
			if !strings.EqualFold(toks[i].text, "and") || toks[i].quoted {
				return nil, errFilter(s)
			}
			i++
		}
		// field eq 'value'
		if i+2 < len(toks) && !toks[i].quoted && strings.EqualFold(toks[i+1].text, "eq") && toks[i+2].quoted {
			field, value := strings.ToLower(toks[i].text), toks[i+2].text
			i += 3
			switch field {
			case "resourcetype":
				f.preds = append(f.preds, func(r *store.Resource) bool { return strings.EqualFold(r.Type, value) })
			case "name":
				f.preds = append(f.preds, func(r *store.Resource) bool { return strings.EqualFold(r.Name, value) })
			case "location":
				f.preds = append(f.preds, func(r *store.Resource) bool { return strings.EqualFold(r.Location, value) })
			case "resourcegroup":
				f.preds = append(f.preds, func(r *store.Resource) bool { return strings.EqualFold(groupOf(r.ID), value) })
			case "kind":
				f.preds = append(f.preds, func(r *store.Resource) bool { return strings.EqualFold(r.Kind, value) })
			case "managedby":
				f.preds = append(f.preds, func(r *store.Resource) bool { return strings.EqualFold(r.ManagedBy, value) })
			case "tagname":
				v := value
				tagName = &v
			case "tagvalue":
				v := value
				tagValue = &v
			default:
				return nil, errFilter(s)
			}
			continue
		}
		// substringof('x', name) | startswith(tagName, 'x')
		if i+5 < len(toks) && toks[i+1].text == "(" && toks[i+3].text == "," && toks[i+5].text == ")" && !toks[i+1].quoted {
			fn := strings.ToLower(toks[i].text)
			a, b := toks[i+2], toks[i+4]
			i += 6
			switch {
			case fn == "substringof" && a.quoted && strings.EqualFold(b.text, "name") && !b.quoted:
				sub := strings.ToLower(a.text)
				f.preds = append(f.preds, func(r *store.Resource) bool { return strings.Contains(strings.ToLower(r.Name), sub) })
			case fn == "startswith" && !a.quoted && strings.EqualFold(a.text, "tagName") && b.quoted:
				tagPrefix = strings.ToLower(b.text)
				f.preds = append(f.preds, func(r *store.Resource) bool {
					for k := range r.Tags {
						if strings.HasPrefix(strings.ToLower(k), tagPrefix) {
							return true
						}
					}
					return false
				})
			default:
				return nil, errFilter(s)
			}
			continue
		}
		return nil, errFilter(s)
	}
	switch {
	case tagValue != nil && tagName == nil:
		return nil, errFilter(s)
	case tagName != nil:
		name, value := *tagName, tagValue
		f.preds = append(f.preds, func(r *store.Resource) bool {
			for k, v := range r.Tags {
				if strings.EqualFold(k, name) && (value == nil || v == *value) {
					return true
				}
			}
			return false
		})
	}
	return f, nil
}

func errFilter(s string) error {
	return arm.Errorf(http.StatusBadRequest, "InvalidFilterInQueryString", "Invalid $filter '%s' specified in the query string.", s)
}

type token struct {
	text   string
	quoted bool
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, token{text: string(c)})
			i++
		case c == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated string")
			}
			out = append(out, token{text: b.String(), quoted: true})
		default:
			j := i
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || s[j] == '/' || s[j] == '.' || s[j] == '_') {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected %q", c)
			}
			out = append(out, token{text: s[i:j]})
			i = j
		}
	}
	return out, nil
}
