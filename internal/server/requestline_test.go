package server

import (
	"net"
	"testing"
)

func TestSpaceEncodingConn(t *testing.T) {
	client, server := net.Pipe()
	c := &spaceEncodingConn{Conn: server}
	// The second body ends in what looks like the start of a request line
	// and has no newline: it must pass, not wait for more.
	in := "GET /x?api-version=1&$filter=principalId eq 'a b' HTTP/1.1\r\nHost: h\r\n\r\n" +
		"PUT /y HTTP/1.1\r\nContent-Length: 21\r\n\r\n{\"GET / a b\": \"c d\"}\n" +
		"POST /z HTTP/1.1\r\ncontent-length: 10\r\n\r\nline\nGET /"
	go func() {
		// In small pieces, so that lines arrive split; the connection stays
		// open, as a client's waiting for its response.
		for i := 0; i < len(in); i += 7 {
			client.Write([]byte(in[i:min(i+7, len(in))]))
		}
	}()
	out := make([]byte, 0, len(in)+16)
	buf := make([]byte, 64)
	for len(out) < len(in)+6 { // three spaces became %20
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
	}
	want := "GET /x?api-version=1&$filter=principalId%20eq%20'a%20b' HTTP/1.1\r\nHost: h\r\n\r\n" +
		"PUT /y HTTP/1.1\r\nContent-Length: 21\r\n\r\n{\"GET / a b\": \"c d\"}\n" +
		"POST /z HTTP/1.1\r\ncontent-length: 10\r\n\r\nline\nGET /"
	if string(out) != want {
		t.Errorf("got\n%q\nwant\n%q", out, want)
	}
}
