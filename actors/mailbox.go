package actors

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// Mailbox states.
const (
	mailboxIdle int32 = iota
	mailboxRunning
)

// batchMailbox is the actor.Mailbox of routers and executors. It keeps
// protoactor's semantics (system messages first, suspension while a
// failed actor waits for its supervisor, a failure escalated when
// Receive panics, a yield every throughput messages) at a lower cost per
// message: senders append to a slice under a short lock, and the mailbox
// takes all waiting messages in one swap, so a busy mailbox locks once
// per batch rather than once per message and allocates nothing.
type batchMailbox struct {
	mu     sync.Mutex
	inUser []any // posted, not yet taken; guarded by mu
	inSys  []any // guarded by mu

	userCount atomic.Int32 // posted and not yet processed
	sysCount  atomic.Int32
	status    atomic.Int32
	suspended atomic.Bool

	// batch and next are the user messages taken; only the goroutine
	// running the mailbox touches them.
	batch []any
	next  int

	invoker    actor.MessageInvoker
	dispatcher actor.Dispatcher
	process    func() // processMessages, bound once
	afterlife  *afterlife
}

// afterlife handles the user messages that reach a mailbox after its
// actor stopped (or in the moment before its name is unregistered),
// which protoactor would drop without a word. The actor sets gone when
// it receives *actor.Stopped.
type afterlife struct {
	gone   atomic.Bool
	handle func(msg any)
}

// newBatchMailbox returns a mailbox; after may be nil.
func newBatchMailbox(after *afterlife) *batchMailbox {
	m := &batchMailbox{afterlife: after}
	m.process = m.processMessages
	return m
}

// PostUserMessage implements actor.Mailbox.
func (m *batchMailbox) PostUserMessage(msg any) {
	m.mu.Lock()
	m.inUser = append(m.inUser, msg)
	m.mu.Unlock()
	m.userCount.Add(1)
	m.schedule()
}

// PostSystemMessage implements actor.Mailbox.
func (m *batchMailbox) PostSystemMessage(msg any) {
	m.mu.Lock()
	m.inSys = append(m.inSys, msg)
	m.mu.Unlock()
	m.sysCount.Add(1)
	m.schedule()
}

// RegisterHandlers implements actor.Mailbox.
func (m *batchMailbox) RegisterHandlers(invoker actor.MessageInvoker, d actor.Dispatcher) {
	m.invoker, m.dispatcher = invoker, d
}

// Start implements actor.Mailbox.
func (m *batchMailbox) Start() {}

// UserMessageCount implements actor.Mailbox.
func (m *batchMailbox) UserMessageCount() int { return int(m.userCount.Load()) }

func (m *batchMailbox) schedule() {
	if m.status.CompareAndSwap(mailboxIdle, mailboxRunning) {
		m.dispatcher.Schedule(m.process)
	}
}

func (m *batchMailbox) processMessages() {
	for {
		m.run()
		m.status.Store(mailboxIdle)
		more := m.sysCount.Load() > 0 || (!m.suspended.Load() && m.userCount.Load() > 0)
		// Messages posted after run returned: go on unless a sender has
		// already scheduled the mailbox again.
		if !more || !m.status.CompareAndSwap(mailboxIdle, mailboxRunning) {
			return
		}
	}
}

func (m *batchMailbox) run() {
	var msg any
	defer func() {
		if r := recover(); r != nil {
			m.invoker.EscalateFailure(r, msg)
		}
	}()
	throughput := m.dispatcher.Throughput()
	for i := 0; ; i++ {
		if i > throughput {
			i = 0
			runtime.Gosched()
		}
		if msg = m.popSystem(); msg != nil {
			m.sysCount.Add(-1)
			switch msg.(type) {
			case *actor.SuspendMailbox:
				m.suspended.Store(true)
			case *actor.ResumeMailbox:
				m.suspended.Store(false)
			default:
				m.invoker.InvokeSystemMessage(msg)
			}
			continue
		}
		if m.suspended.Load() {
			return
		}
		if msg = m.popUser(); msg == nil {
			return
		}
		m.userCount.Add(-1)
		if m.afterlife != nil && m.afterlife.gone.Load() {
			m.afterlife.handle(actor.UnwrapEnvelopeMessage(msg))
			continue
		}
		m.invoker.InvokeUserMessage(msg)
	}
}

// popSystem takes the oldest system message, or nil.
func (m *batchMailbox) popSystem() any {
	if m.sysCount.Load() == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.inSys) == 0 {
		return nil
	}
	msg := m.inSys[0]
	m.inSys[0] = nil
	m.inSys = m.inSys[1:]
	return msg
}

// popUser takes the oldest user message, or nil; when the taken batch is
// used up it swaps in the messages posted since.
func (m *batchMailbox) popUser() any {
	if m.next == len(m.batch) {
		clear(m.batch)
		m.mu.Lock()
		m.batch, m.inUser = m.inUser, m.batch[:0]
		m.mu.Unlock()
		m.next = 0
		if len(m.batch) == 0 {
			return nil
		}
	}
	msg := m.batch[m.next]
	m.next++
	return msg
}
