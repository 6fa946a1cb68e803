package server

import (
	"io"
	"net"
	"testing"
)

func TestSpaceEncodingConn(t *testing.T) {
	client, server := net.Pipe()
	c := &spaceEncodingConn{Conn: server}
	in := "GET /x?api-version=1&$filter=principalId eq 'a b' HTTP/1.1\r\nHost: h\r\n\r\n" +
		"PUT /y HTTP/1.1\r\nContent-Length: 21\r\n\r\n{\"GET / a b\": \"c d\"}\n"
	go func() {
		// In small pieces, so that lines arrive split.
		for i := 0; i < len(in); i += 7 {
			client.Write([]byte(in[i:min(i+7, len(in))]))
		}
		client.Close()
	}()
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := "GET /x?api-version=1&$filter=principalId%20eq%20'a%20b' HTTP/1.1\r\nHost: h\r\n\r\n" +
		"PUT /y HTTP/1.1\r\nContent-Length: 21\r\n\r\n{\"GET / a b\": \"c d\"}\n"
	if string(out) != want {
		t.Errorf("got\n%q\nwant\n%q", out, want)
	}
}
