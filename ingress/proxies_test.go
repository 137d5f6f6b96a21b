package ingress_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/picloud/picloud/ingress"
	"github.com/picloud/picloud/internal/clientip"
)

// lockedBuffer is a log destination safe for the listener's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPerClientLimitOfATrustedProxy: the cap counts TCP peers, a
// trusted proxy included (no request has been read when a connection is
// refused), and the refusal's log names the peer as a trusted proxy
// whose clients share its count.
func TestPerClientLimitOfATrustedProxy(t *testing.T) {
	proxies, err := clientip.Parse([]string{"127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	inner := listenLocal(t)
	logs := &lockedBuffer{}
	l := ingress.NewListener(inner, ingress.ConnLimits{Max: 100, PerClient: 2, TrustedProxies: proxies},
		slog.New(slog.NewTextHandler(logs, nil)))
	serveHealthz(t, l)
	addr := inner.Addr().String()

	holdIdle(t, "127.0.0.2", addr, 2)
	holdIdle(t, "127.0.0.3", addr, 2)
	eventually(t, func() bool { return l.Open() == 4 })
	for _, from := range []string{"127.0.0.2", "127.0.0.3"} {
		if status, body := request(t, from, addr); status != 429 || !strings.Contains(body, "client_connection_limit") {
			t.Fatalf("3rd connection from %s: %d %q, want 429", from, status, body)
		}
	}
	eventually(t, func() bool { return strings.Count(logs.String(), "max_connections_per_ip reached") >= 1 })
	// The first refusal (the proxy's) is logged; the next is held back
	// by the log's rate limit.
	line := logs.String()
	if !strings.Contains(line, "by a trusted proxy") || !strings.Contains(line, "trusted_proxy=true") || !strings.Contains(line, "client=127.0.0.2") {
		t.Errorf("the refusal of a trusted proxy is not named so:\n%s", line)
	}
}
