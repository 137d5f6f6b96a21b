package ingress

import (
	"sync"
	"time"

	"github.com/picloud/picloud/actors"
)

// call is what invoke allocates per request, in one piece: the request
// as plain data, the Invoke sent to the router and the slot its answer
// comes back in.
type call struct {
	req   actors.Request
	inv   actors.Invoke
	reply actors.Reply
}

// timerPool holds the timers bounding invoke's wait, reused: a timer per
// request cost two allocations and a trip through the runtime's timer
// heap to create. Since Go 1.23 Stop and Reset leave no stale tick in a
// timer's channel, so a pooled timer cannot fire into the next request.
type timerPool struct{ p sync.Pool }

func (tp *timerPool) acquire(d time.Duration) *time.Timer {
	if t, ok := tp.p.Get().(*time.Timer); ok {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

func (tp *timerPool) release(t *time.Timer) {
	t.Stop()
	tp.p.Put(t)
}

// methodString is m as a string, without an allocation for the methods
// requests use.
func methodString(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "PATCH":
		return "PATCH"
	case "HEAD":
		return "HEAD"
	case "OPTIONS":
		return "OPTIONS"
	}
	return string(m)
}
