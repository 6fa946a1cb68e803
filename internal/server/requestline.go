package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"regexp"
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

// spaceEncodingConn rewrites request lines as they are read. It works a
// line at a time: bytes are held back until their line is complete (or the
// buffer holds more than a request line may be).
type spaceEncodingConn struct {
	net.Conn
	pending []byte // read from the connection, not yet returned
	out     []byte // ready to return
}

const maxHeld = 64 << 10

func (c *spaceEncodingConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if i := bytes.IndexByte(c.pending, '\n'); i >= 0 {
			line := c.pending[:i+1]
			c.pending = c.pending[i+1:]
			c.out = append(c.out, fixLine(line)...)
			continue
		}
		if len(c.pending) > maxHeld || (len(c.pending) > 0 && !mayBeRequestLine(c.pending)) {
			c.out, c.pending = append(c.out, c.pending...), nil
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

// mayBeRequestLine reports whether an incomplete line could still become a
// request line (so it is worth holding back): it starts like one.
func mayBeRequestLine(b []byte) bool {
	for _, m := range [][]byte{[]byte("GET /"), []byte("HEAD /"), []byte("PUT /"), []byte("POST /"), []byte("PATCH /"), []byte("DELETE /"), []byte("OPTIONS /")} {
		n := min(len(b), len(m))
		if bytes.Equal(b[:n], m[:n]) {
			return true
		}
	}
	return false
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
