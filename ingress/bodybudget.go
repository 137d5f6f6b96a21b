package ingress

import (
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// A response body stays in memory until its client has read it; a client
// that reads slowly (or not at all) keeps it there until the write times
// out. bodyBudget bounds what large bodies may hold this way, so that
// slow readers cost a bounded amount of memory, not one body each.
//
// Bodies of at most smallBody bytes are not counted: they fit the
// socket's send buffer and leave the process at once.
const smallBody = 64 << 10

// codeServerBusy is the error code of a response refused because large
// responses already hold the budget.
const codeServerBusy = "server_busy"

// holdBody reserves body's bytes until ctx's response is written, and
// reports false when the budget is spent.
func (s *Server) holdBody(ctx *fasthttp.RequestCtx, body []byte) bool {
	if len(body) <= smallBody {
		return true
	}
	n := int64(len(body))
	if !s.bodies.take(n) {
		return false
	}
	ctx.SetUserValue(heldBodyKey, &heldBody{budget: s.bodies, n: n})
	return true
}

// DefaultResponseMemory is the budget of a Server whose
// LimitConnections set none.
const DefaultResponseMemory = 256 << 20

// bodyBudget counts the bytes of large bodies being written.
type bodyBudget struct {
	mu      sync.Mutex
	max     int64
	used    int64
	refused atomic.Uint64
}

func newBodyBudget(most int64) *bodyBudget {
	if most <= 0 {
		most = DefaultResponseMemory
	}
	return &bodyBudget{max: most}
}

// take reserves n bytes and reports whether it could. A body larger than
// the whole budget goes out when nothing else is held, so the budget
// never makes a response impossible.
func (b *bodyBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used > 0 && b.used+n > b.max {
		b.refused.Add(1)
		return false
	}
	b.used += n
	return true
}

func (b *bodyBudget) give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
}

func (b *bodyBudget) setMax(most int64) {
	if most <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.max = most
}

// held is how many bytes are reserved now.
func (b *bodyBudget) held() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// heldBody gives a body's bytes back to its budget. It is stored as a
// user value of the request: fasthttp closes those once the response is
// written, or the connection failed, and the context is reset.
type heldBody struct {
	budget *bodyBudget
	n      int64
	once   sync.Once
}

func (h *heldBody) Close() error {
	h.once.Do(func() { h.budget.give(h.n) })
	return nil
}

// heldBodyKey is the user-value key of a request's heldBody.
const heldBodyKey = "picloud.held_body"
