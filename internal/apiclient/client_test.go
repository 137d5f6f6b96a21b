package apiclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestLocalhostNamesDialLoopback: a server URL under .localhost reaches
// a server on loopback, and the request still names that host, which is
// what the admin host of a local install needs.
func TestLocalhostNamesDialLoopback(t *testing.T) {
	hosts := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hosts <- r.Host
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"version":"x","api":"v1","sdk":"v1"}`))
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	c := New("http://admin.localhost:"+port, "")
	if _, err := c.ServerInfo(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := <-hosts, "admin.localhost:"+port; got != want {
		t.Errorf("Host %q, want %q", got, want)
	}
}

func TestIsLocalhost(t *testing.T) {
	for host, want := range map[string]bool{
		"admin.localhost": true, "Admin.LOCALHOST.": true, "a.b.localhost": true,
		"localhost": false, "notlocalhost": false, "admin.localhost.example.com": false, "127.0.0.1": false,
	} {
		if got := isLocalhost(host); got != want {
			t.Errorf("isLocalhost(%q) = %v, want %v", host, got, want)
		}
	}
}
