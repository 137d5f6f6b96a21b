package ingress_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/ingress"
)

// scriptStatus answers every request with the status its path names:
// /status/101 answers 101.
func scriptStatus() scriptedRouter {
	return scriptedRouter{answer: func(inv *actors.Invoke) (actors.Result, bool) {
		status, _ := strconv.Atoi(strings.TrimPrefix(inv.Request.Path, "/status/"))
		return actors.Result{Status: status, Body: []byte("from the script"), ScriptID: 7}, true
	}}
}

// TestScriptStatusRange: a script may answer 200-599 only. Anything else
// (1xx, which would change what the connection carries, 0, negative or
// 600+) is answered 500 invalid_status, and the invocation log says why.
func TestScriptStatusRange(t *testing.T) {
	rec := &memRecorder{}
	base := start(t, scriptStatus(), rec, time.Second)
	client := &http.Client{Timeout: 5 * time.Second}
	tests := []struct {
		status int
		want   int
	}{
		{200, 200}, {204, 204}, {301, 301}, {418, 418}, {599, 599},
		{101, 500}, {100, 500}, {103, 500}, {199, 500},
		{0, 500}, {-1, 500}, {-200, 500}, {600, 500}, {999, 500}, {1000, 500}, {1 << 40, 500},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			res, err := client.Get(base + "/status/" + strconv.Itoa(tt.status))
			if err != nil {
				t.Fatalf("status %d reached the client as a broken response: %v", tt.status, err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Fatalf("script status %d answered %d %q, want %d", tt.status, res.StatusCode, body, tt.want)
			}
			inv := findInvocation(t, rec, res.Header.Get("X-Request-Id"))
			if tt.want != tt.status {
				if !strings.Contains(string(body), `"code":"invalid_status"`) {
					t.Errorf("body %q lacks the invalid_status code", body)
				}
				if !strings.Contains(inv.Error, "invalid_status") || !strings.Contains(inv.Error, strconv.Itoa(tt.status)) {
					t.Errorf("invocation error %q does not say which status was refused", inv.Error)
				}
			} else if inv.Error != "" || (tt.status != 204 && string(body) != "from the script") {
				t.Errorf("valid status %d: body %q, invocation error %q", tt.status, body, inv.Error)
			}
			if inv.Status != tt.want {
				t.Errorf("invocation recorded status %d, want %d", inv.Status, tt.want)
			}
		})
	}
}

// findInvocation returns the invocation rec holds for a request id.
// Ingress records before it writes the response, so a client that has
// the response finds its record.
func findInvocation(t *testing.T, rec *memRecorder, requestID string) ingress.Invocation {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, inv := range rec.invs {
		if inv.RequestID == requestID {
			return inv
		}
	}
	t.Fatalf("no invocation recorded for request %q", requestID)
	return ingress.Invocation{}
}
