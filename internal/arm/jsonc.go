package arm

import "bytes"

// standardizeJSONC turns the JSON-with-comments ARM accepts in deployment
// bodies into JSON: comments (// and /* */) and trailing commas go, and
// bare object keys (az splices templates in as `template: {...}`) get
// quotes. Text inside strings is left alone.
func standardizeJSONC(in []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(in))
	n := len(in)
	for i := 0; i < n; i++ {
		c := in[i]
		switch {
		case c == '"':
			j := i + 1
			for j < n && in[j] != '"' {
				if in[j] == '\\' {
					j++
				}
				j++
			}
			if j >= n {
				j = n - 1
			}
			out.Write(in[i : j+1])
			i = j
		case c == '/' && i+1 < n && in[i+1] == '/':
			for i < n && in[i] != '\n' {
				i++
			}
			if i < n {
				out.WriteByte('\n')
			}
		case c == '/' && i+1 < n && in[i+1] == '*':
			end := bytes.Index(in[i+2:], []byte("*/"))
			if end < 0 {
				return in // unterminated: let the JSON check report it
			}
			i += end + 3
			out.WriteByte(' ')
		case c == ',':
			if next := nextSignificant(in, i+1); next < n && (in[next] == '}' || in[next] == ']') {
				continue
			}
			out.WriteByte(c)
		case isIdentStart(c) && bareKeyContext(out.Bytes()):
			j := i
			for j < n && (isIdentStart(in[j]) || (in[j] >= '0' && in[j] <= '9')) {
				j++
			}
			if next := nextSignificant(in, j); next < n && in[next] == ':' {
				out.WriteByte('"')
				out.Write(in[i:j])
				out.WriteByte('"')
				i = j - 1
				continue
			}
			out.Write(in[i:j])
			i = j - 1
		default:
			out.WriteByte(c)
		}
	}
	return out.Bytes()
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// bareKeyContext reports whether what was written so far ends where an
// object key may start ({ or , then blanks).
func bareKeyContext(written []byte) bool {
	t := bytes.TrimRight(written, " \t\r\n")
	return len(t) > 0 && (t[len(t)-1] == '{' || t[len(t)-1] == ',')
}

// nextSignificant is the index of the next byte that is not a blank or in
// a comment.
func nextSignificant(in []byte, i int) int {
	for i < len(in) {
		switch {
		case in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n':
			i++
		case in[i] == '/' && i+1 < len(in) && in[i+1] == '/':
			for i < len(in) && in[i] != '\n' {
				i++
			}
		case in[i] == '/' && i+1 < len(in) && in[i+1] == '*':
			end := bytes.Index(in[i+2:], []byte("*/"))
			if end < 0 {
				return len(in)
			}
			i += end + 4
		default:
			return i
		}
	}
	return i
}
