package ingress_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/actors"
)

// rawGet sends a GET for path over a fresh connection and returns the
// response's header block and body as they came off the wire, so that
// what a client's parser would refuse or repair is still visible.
func rawGet(t *testing.T, base, path string) (head, body []byte) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: hello\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := bytes.Cut(all, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no end of headers in %q", all)
	}
	return head, body
}

// TestResponseHeaderValidation: a script's response header goes out only
// when its name is an RFC 9110 token, its value has no control character
// but HTAB, and it is not a hop-by-hop, framing or server-owned header.
// Every header dropped is named in the invocation's error text.
func TestResponseHeaderValidation(t *testing.T) {
	tests := []struct {
		name, value string
		allowed     bool
	}{
		{"X-Plain", "v", true},
		{"X-Tab", "a\tb", true},
		{"X-Utf8", "café", true},
		{"X-Empty", "", true},
		{"Content-Type", "text/x-script", true},
		{"X-Token-!#$%&'*+-.^_`|~", "v", true},

		{"X(E)", "v", false},
		{"X\x7fDel", "v", false},
		{"X-Ünï", "v", false},
		{"a b", "v", false},
		{"", "v", false},
		{"X-A:B", "v", false},
		{"X-Tab\tName", "v", false},
		{"X-Nl\nName", "v", false},
		{":status", "101", false},
		{"X-CRLF", "a\r\nInjected: 1", false},
		{"X-LF", "a\nInjected: 1", false},
		{"X-CR", "a\rInjected: 1", false},
		{"X-Nul", "a\x00b", false},
		{"X-Ctl", "a\x01b", false},
		{"X-Esc", "a\x1b[31mb", false},
		{"X-Del", "a\x7fb", false},

		{"Connection", "keep-alive, X-Secret", false},
		{"connection", "upgrade", false},
		{"Transfer-Encoding", "chunked", false},
		{"Content-Length", "1", false},
		{"Upgrade", "websocket", false},
		{"Keep-Alive", "timeout=9999", false},
		{"Trailer", "X-Late", false},
		{"TE", "trailers", false},
		{"Proxy-Connection", "keep-alive", false},
		{"Proxy-Authenticate", "Basic realm=x", false},
		{"X-Request-Id", "forged", false},
		{"Date", "yesterday", false},
		{"Server", "forged", false},
	}
	// The value each case sends carries a marker, so its absence from
	// the wire proves the header was dropped.
	marker := func(i int) string { return "mark" + strconv.Itoa(i) + "x" }
	router := scriptedRouter{answer: func(inv *actors.Invoke) (actors.Result, bool) {
		i, _ := strconv.Atoi(strings.TrimPrefix(inv.Request.Path, "/h/"))
		tt := tests[i]
		return actors.Result{Status: 200, Body: []byte("body"),
			Headers: []actors.Header{{Name: tt.name, Value: tt.value + marker(i)}, {Name: "X-Kept", Value: "yes"}}}, true
	}}
	rec := &memRecorder{}
	base := start(t, router, rec, time.Second)
	for i, tt := range tests {
		t.Run(strconv.Quote(tt.name)+"="+strconv.Quote(tt.value), func(t *testing.T) {
			head, body := rawGet(t, base, "/h/"+strconv.Itoa(i))
			if !bytes.HasPrefix(head, []byte("HTTP/1.1 200 ")) || string(body) != "body" {
				t.Fatalf("response %q %q", head, body)
			}
			lines := strings.Split(string(head), "\r\n")[1:]
			if !containsLine(lines, "X-Kept: yes") {
				t.Errorf("a valid header beside it was lost: %q", head)
			}
			if bytes.Contains(head, []byte("Injected")) {
				t.Errorf("a header was injected: %q", head)
			}
			if containsLine(lines, "Content-Length: 4") != true {
				t.Errorf("framing changed: %q", head)
			}
			inv := findInvocation(t, rec, textproto.MIMEHeader(headerMap(lines)).Get("X-Request-Id"))
			if tt.allowed {
				if !containsLine(lines, tt.name+": "+tt.value+marker(i)) {
					t.Errorf("allowed header %q missing: %q", tt.name, head)
				}
				if inv.Error != "" {
					t.Errorf("invocation error %q for an allowed header", inv.Error)
				}
				return
			}
			if bytes.Contains(head, []byte(marker(i))) {
				t.Errorf("refused header went out: %q", head)
			}
			if !strings.Contains(inv.Error, "response header "+strconv.Quote(tt.name)+" dropped: ") {
				t.Errorf("invocation error %q does not name the dropped header", inv.Error)
			}
		})
	}
}

// TestDroppedHeaderNotesBounded: a script that sets many bad headers gets
// a bounded note, not one line per header.
func TestDroppedHeaderNotesBounded(t *testing.T) {
	var headers []actors.Header
	for i := range 1000 {
		headers = append(headers, actors.Header{Name: "Bad Name " + strconv.Itoa(i), Value: "v"})
	}
	router := scriptedRouter{answer: func(*actors.Invoke) (actors.Result, bool) {
		return actors.Result{Status: 200, Headers: headers}, true
	}}
	rec := &memRecorder{}
	base := start(t, router, rec, time.Second)
	head, _ := rawGet(t, base, "/")
	inv := findInvocation(t, rec, textproto.MIMEHeader(headerMap(strings.Split(string(head), "\r\n")[1:])).Get("X-Request-Id"))
	if n := strings.Count(inv.Error, "\n") + 1; n > 20 || !strings.HasSuffix(inv.Error, "984 more response headers dropped") {
		t.Fatalf("%d note lines, ending %q", n, inv.Error[max(0, len(inv.Error)-80):])
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// headerMap parses header lines that are well-formed; others are skipped.
func headerMap(lines []string) map[string][]string {
	m := map[string][]string{}
	r := textproto.NewReader(bufio.NewReader(strings.NewReader(strings.Join(lines, "\r\n") + "\r\n\r\n")))
	if h, err := r.ReadMIMEHeader(); err == nil {
		for k, v := range h {
			m[k] = v
		}
	}
	return m
}
