package actors

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// recordingInvoker records what a mailbox hands it; a user message "boom"
// panics.
type recordingInvoker struct {
	mu       sync.Mutex
	user     []any
	system   []any
	failures []any
}

func (r *recordingInvoker) InvokeSystemMessage(msg any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.system = append(r.system, msg)
}

func (r *recordingInvoker) InvokeUserMessage(msg any) {
	if msg == "boom" {
		panic("boom")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.user = append(r.user, msg)
}

func (r *recordingInvoker) EscalateFailure(reason, msg any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, msg)
}

// manualDispatcher runs scheduled work only when the test says so.
type manualDispatcher struct{ queued []func() }

func (d *manualDispatcher) Schedule(fn func()) { d.queued = append(d.queued, fn) }
func (d *manualDispatcher) Throughput() int    { return 2 }
func (d *manualDispatcher) runAll() {
	for len(d.queued) > 0 {
		fn := d.queued[0]
		d.queued = d.queued[1:]
		fn()
	}
}

func TestBatchMailboxOrderAndPriority(t *testing.T) {
	inv, d := &recordingInvoker{}, &manualDispatcher{}
	m := newBatchMailbox(nil)
	m.RegisterHandlers(inv, d)
	m.PostUserMessage(1)
	m.PostUserMessage(2)
	m.PostSystemMessage(&actor.Started{})
	m.PostUserMessage(3)
	if len(d.queued) != 1 {
		t.Fatalf("scheduled %d times; want once", len(d.queued))
	}
	if m.UserMessageCount() != 3 {
		t.Fatalf("UserMessageCount = %d", m.UserMessageCount())
	}
	d.runAll()
	if !slices.Equal(inv.user, []any{1, 2, 3}) || len(inv.system) != 1 {
		t.Fatalf("user %v system %v", inv.user, inv.system)
	}
	if m.UserMessageCount() != 0 {
		t.Fatalf("UserMessageCount = %d after processing", m.UserMessageCount())
	}
}

func TestBatchMailboxSuspendAndFailure(t *testing.T) {
	inv, d := &recordingInvoker{}, &manualDispatcher{}
	m := newBatchMailbox(nil)
	m.RegisterHandlers(inv, d)
	m.PostUserMessage("boom")
	m.PostUserMessage(1)
	d.runAll()
	// The panic is escalated with its message and the mailbox goes on
	// (a real actor's EscalateFailure suspends it first).
	if !slices.Equal(inv.failures, []any{"boom"}) || !slices.Equal(inv.user, []any{1}) {
		t.Fatalf("failures %v, user %v", inv.failures, inv.user)
	}
	m.PostSystemMessage(&actor.SuspendMailbox{})
	m.PostUserMessage(2)
	d.runAll()
	if slices.Contains(inv.user, 2) {
		t.Fatalf("a suspended mailbox delivered user messages: %v", inv.user)
	}
	m.PostSystemMessage(&actor.ResumeMailbox{})
	d.runAll()
	if !slices.Equal(inv.user, []any{1, 2}) {
		t.Fatalf("after resume: %v", inv.user)
	}
}

func TestBatchMailboxConcurrentSenders(t *testing.T) {
	inv := &recordingInvoker{}
	m := newBatchMailbox(nil)
	m.RegisterHandlers(inv, NewWorkerDispatcher(0, 0))
	const senders, each = 8, 2000
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				m.PostUserMessage(s*each + i)
				if i%100 == 0 {
					m.PostSystemMessage(&actor.Started{})
				}
			}
		})
	}
	wg.Wait()
	done := func() bool {
		inv.mu.Lock()
		defer inv.mu.Unlock()
		return len(inv.user) == senders*each
	}
	for deadline := time.Now().Add(10 * time.Second); !done(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not every message was delivered")
		}
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	last := map[int]int{}
	for _, v := range inv.user {
		n := v.(int)
		s := n / each
		if prev, ok := last[s]; ok && n <= prev {
			t.Fatalf("sender %d's messages out of order: %d after %d", s, n, prev)
		}
		last[s] = n
	}
}
