package server

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/localaks/localaks/internal/acr"
	"github.com/localaks/localaks/internal/entra"
)

// Container registries are reached by their login servers' names
// ({name}.azurecr.io, as ACR's are), which no resolver on this machine
// knows and which localaks must never look up. So serve's port also speaks
// plain HTTP for one thing: an HTTP CONNECT to a login server (port 443),
// as clients send it to the proxy in HTTPS_PROXY. The tunnel comes back to
// serve's own HTTPS server, which answers it as that registry (its
// certificate names *.azurecr.io). Entra's public authority host is
// tunnelled the same way and answered by localaks's Entra: clients that
// cannot be given another authority (kubelogin's service-principal sign-in
// in AKS's kubeconfig) sign in at localaks through HTTPS_PROXY. Nothing
// else is proxied and nothing is dialled: a CONNECT to any other host is
// refused.

// sniffListener passes TLS connections on to the HTTPS server, answers
// plain-HTTP CONNECTs to login servers by feeding the tunnel to the HTTPS
// server too, and refuses other plain HTTP.
type sniffListener struct {
	net.Listener
	conns chan net.Conn
	errc  chan error
	once  sync.Once
	done  chan struct{}
}

func newSniffListener(l net.Listener) *sniffListener {
	s := &sniffListener{Listener: l, conns: make(chan net.Conn), errc: make(chan error, 1), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *sniffListener) loop() {
	for {
		c, err := s.Listener.Accept()
		if err != nil {
			s.errc <- err
			return
		}
		go s.sniff(c)
	}
}

// Accept returns the next HTTPS connection (direct or tunnelled).
func (s *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case err := <-s.errc:
		s.errc <- err
		return nil, err
	case <-s.done:
		return nil, net.ErrClosed
	}
}

func (s *sniffListener) Close() error {
	s.once.Do(func() { close(s.done) })
	return s.Listener.Close()
}

func (s *sniffListener) deliver(c net.Conn) {
	select {
	case s.conns <- c:
	case <-s.done:
		c.Close()
	}
}

// peekedConn replays what was read to tell TLS from plain HTTP.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (s *sniffListener) sniff(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck // a conn's deadline
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	if err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{}) //nolint:errcheck // a conn's deadline
	pc := &peekedConn{Conn: c, r: br}
	if first[0] == 0x16 { // a TLS handshake record
		s.deliver(pc)
		return
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck // a conn's deadline
	req, err := http.ReadRequest(br)
	if err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{}) //nolint:errcheck // a conn's deadline
	if req.Method != http.MethodConnect {
		refuse(c, http.StatusBadRequest, "This port speaks HTTPS. Plain HTTP is only for CONNECT to a container registry's login server (HTTPS_PROXY).")
		return
	}
	host, port, err := net.SplitHostPort(req.Host)
	if err != nil || port != "443" {
		refuse(c, http.StatusForbidden, fmt.Sprintf("localaks tunnels only to its container registries' login servers on port 443, not %q.", req.Host))
		return
	}
	if _, ok := acr.LoginName(host); !ok && !strings.EqualFold(host, entra.PublicAuthorityHost) {
		refuse(c, http.StatusForbidden, fmt.Sprintf("localaks tunnels only to its container registries' login servers (*.azurecr.io) and Entra's authority (%s), not %q.", entra.PublicAuthorityHost, host))
		return
	}
	if _, err := fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		c.Close()
		return
	}
	s.deliver(pc)
}

func refuse(c net.Conn, status int, msg string) {
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", //nolint:errcheck // closing anyway
		status, http.StatusText(status), len(msg)+1, msg+"\n")
	c.Close()
}
