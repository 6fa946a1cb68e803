package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"regexp"
	"strconv"
)

// Some clients put query values in the request line unencoded: the Azure
// SDKs send x-ms-skip-url-encoding parameters as is, so armauthorization's
// role-assignment listings arrive as
//
//	GET /…/roleAssignments?api-version=2022-04-01&$filter=principalId eq 'x' HTTP/1.1
//
// ARM accepts that; Go's HTTP server answers 400 (a request line has two
// spaces). spaceEncodingListener re-encodes the spaces inside such lines
// before the server parses them. It wraps the TLS listener, so the server
// no longer sees *tls.Conn: withTLSState gives requests their TLS state
// back.
type spaceEncodingListener struct{ net.Listener }

func (l spaceEncodingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &spaceEncodingConn{Conn: c}, nil
}

type tlsConnKey struct{}

// connContext remembers a connection's TLS side (http.Server.ConnContext).
func connContext(ctx context.Context, c net.Conn) context.Context {
	if sc, ok := c.(*spaceEncodingConn); ok {
		if tc, ok := sc.Conn.(*tls.Conn); ok {
			return context.WithValue(ctx, tlsConnKey{}, tc)
		}
	}
	return ctx
}

// withTLSState sets r.TLS for requests on wrapped TLS connections.
func withTLSState(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tc, ok := r.Context().Value(tlsConnKey{}).(*tls.Conn); ok && r.TLS == nil {
			st := tc.ConnectionState()
			r.TLS = &st
		}
		next.ServeHTTP(w, r)
	})
}

// requestLine matches an HTTP/1 request line whose target has spaces.
var requestLine = regexp.MustCompile(`^(GET|HEAD|PUT|POST|PATCH|DELETE|OPTIONS) (/[^\r\n]* [^\r\n]*) (HTTP/1\.[01])\r?\n$`)

// spaceEncodingConn rewrites request lines as they are read. It follows
// HTTP/1 framing: request line and headers are read a line at a time (the
// request line rewritten), then the body's Content-Length bytes pass
// untouched. A chunked body ends the rewriting for the connection (its
// framing is not followed), as does anything it does not understand.
type spaceEncodingConn struct {
	net.Conn
	pending []byte // read from the connection, not yet returned
	out     []byte // ready to return
	state   int
	body    int64 // body bytes still to pass through
}

const (
	atRequestLine = iota
	inHeaders
	inBody
	passThrough
)

// maxLine bounds a held line; longer ones end the rewriting.
const maxLine = 64 << 10

func (c *spaceEncodingConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.step() {
			continue
		}
		buf := make([]byte, 32<<10)
		n, err := c.Conn.Read(buf)
		c.pending = append(c.pending, buf[:n]...)
		if err != nil {
			if len(c.pending) > 0 {
				c.out, c.pending = append(c.out, c.pending...), nil
				break
			}
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// step moves what it can from pending to out; false means it needs more
// bytes.
func (c *spaceEncodingConn) step() bool {
	if len(c.pending) == 0 {
		return false
	}
	switch c.state {
	case passThrough:
		c.out, c.pending = append(c.out, c.pending...), nil
		return true
	case inBody:
		n := min(int64(len(c.pending)), c.body)
		c.out = append(c.out, c.pending[:n]...)
		c.pending, c.body = c.pending[n:], c.body-n
		if c.body == 0 {
			c.state = atRequestLine
		}
		return true
	}
	i := bytes.IndexByte(c.pending, '\n')
	if i < 0 {
		if len(c.pending) > maxLine {
			c.state = passThrough
			return true
		}
		return false
	}
	line := c.pending[:i+1]
	c.pending = c.pending[i+1:]
	switch c.state {
	case atRequestLine:
		if len(bytes.TrimSpace(line)) > 0 { // blank lines between requests are allowed
			line = fixLine(line)
			c.state, c.body = inHeaders, 0
		}
	case inHeaders:
		name, value, _ := bytes.Cut(bytes.TrimSpace(line), []byte(":"))
		switch {
		case len(bytes.TrimSpace(line)) == 0:
			c.state = inBody
			if c.body == 0 {
				c.state = atRequestLine
			}
		case bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")):
			n, err := strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
			if err != nil || n < 0 {
				c.state = passThrough
			} else {
				c.body = n
			}
		case bytes.EqualFold(bytes.TrimSpace(name), []byte("Transfer-Encoding")) || bytes.EqualFold(bytes.TrimSpace(name), []byte("Upgrade")):
			c.state = passThrough
		}
	}
	c.out = append(c.out, line...)
	return true
}

func fixLine(line []byte) []byte {
	m := requestLine.FindSubmatch(line)
	if m == nil {
		return line
	}
	out := append([]byte{}, m[1]...)
	out = append(out, ' ')
	out = append(out, bytes.ReplaceAll(m[2], []byte(" "), []byte("%20"))...)
	out = append(out, ' ')
	out = append(out, m[3]...)
	return append(out, "\r\n"...)
}
