package models

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Defaults of InvocationWriterOptions.
const (
	DefaultInvocationBatchSize     = 256
	DefaultInvocationFlushInterval = 250 * time.Millisecond
	DefaultInvocationBuffer        = 8192
	DefaultInvocationRetain        = 100000
	DefaultInvocationTrimInterval  = time.Minute
	// writeTimeout bounds one batch INSERT.
	writeTimeout = 30 * time.Second
)

// InvocationWriterOptions tune an InvocationWriter; zero fields take the
// defaults above.
type InvocationWriterOptions struct {
	// BatchSize is the most rows one INSERT writes.
	BatchSize int
	// FlushInterval is the longest a logged invocation waits to be written.
	FlushInterval time.Duration
	// Buffer is how many invocations wait in memory; beyond it Add drops.
	Buffer int
	// Retain is how many invocation rows are kept; older ones are deleted.
	Retain int
	// TrimInterval is how often rows beyond Retain are deleted.
	TrimInterval time.Duration
	// MaxPerSecond caps how many invocations Add accepts per second of
	// their CreatedAt; the rest are counted by Unrecorded. Zero means no
	// cap. Writing every request of a busy server costs more CPU than
	// serving it, and a capped log still shows what happens.
	MaxPerSecond int
}

func (o InvocationWriterOptions) withDefaults() InvocationWriterOptions {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultInvocationBatchSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultInvocationFlushInterval
	}
	if o.Buffer <= 0 {
		o.Buffer = DefaultInvocationBuffer
	}
	if o.Retain <= 0 {
		o.Retain = DefaultInvocationRetain
	}
	if o.TrimInterval <= 0 {
		o.TrimInterval = DefaultInvocationTrimInterval
	}
	return o
}

// InvocationWriter logs invocations off the request path: Add queues
// without blocking, and Run writes the queue in batches and trims old
// rows. Add is safe for concurrent use; run Run once.
type InvocationWriter struct {
	db      *DB
	logger  *slog.Logger
	opts    InvocationWriterOptions
	queue   chan Invocation
	dropped atomic.Uint64

	// The per-second cap: a fixed one-second window, approximate under
	// concurrency (a reset may race with an Add), which a cap can afford.
	window     atomic.Int64
	inWindow   atomic.Int64
	unrecorded atomic.Uint64
}

// NewInvocationWriter returns a writer to db; it writes nothing until Run.
func NewInvocationWriter(db *DB, logger *slog.Logger, opts InvocationWriterOptions) *InvocationWriter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts = opts.withDefaults()
	return &InvocationWriter{
		db:     db,
		logger: logger,
		opts:   opts,
		queue:  make(chan Invocation, opts.Buffer),
	}
}

// Add queues an invocation to be written. It never blocks: when the buffer
// is full the invocation is dropped and counted. Set CreatedAt to the
// request's time; zero means the time it is written.
func (w *InvocationWriter) Add(inv Invocation) {
	if !w.admit(inv.CreatedAt) {
		w.unrecorded.Add(1)
		return
	}
	select {
	case w.queue <- inv:
	default:
		w.dropped.Add(1)
	}
}

// admit reports whether an invocation created at t fits this second's cap.
func (w *InvocationWriter) admit(t time.Time) bool {
	if w.opts.MaxPerSecond <= 0 {
		return true
	}
	if t.IsZero() {
		t = time.Now()
	}
	sec := t.Unix()
	if w.window.Load() != sec {
		w.window.Store(sec)
		w.inWindow.Store(0)
	}
	return w.inWindow.Add(1) <= int64(w.opts.MaxPerSecond)
}

// Unrecorded counts the invocations Add left out because of MaxPerSecond.
func (w *InvocationWriter) Unrecorded() uint64 {
	return w.unrecorded.Load()
}

// Dropped counts the invocations that were not stored: dropped by Add on a
// full buffer, or lost because their batch failed to write.
func (w *InvocationWriter) Dropped() uint64 {
	return w.dropped.Load()
}

// Run writes queued invocations until ctx is done, then writes what is
// still queued and returns. It trims the table to Retain rows at start
// and every TrimInterval. The flush timer runs only while a batch waits,
// so an idle server is not woken every FlushInterval.
func (w *InvocationWriter) Run(ctx context.Context) {
	flush := time.NewTimer(w.opts.FlushInterval)
	flush.Stop()
	defer flush.Stop()
	trim := time.NewTicker(w.opts.TrimInterval)
	defer trim.Stop()

	// Writes outlive ctx, so stopping never loses a batch in flight.
	writeCtx := context.WithoutCancel(ctx)
	w.trim(ctx)
	batch := make([]Invocation, 0, w.opts.BatchSize)
	for {
		select {
		case <-ctx.Done():
			w.drain(writeCtx, batch)
			return
		case inv := <-w.queue:
			if len(batch) == 0 {
				// The first row of a batch waits at most FlushInterval.
				flush.Reset(w.opts.FlushInterval)
			}
			batch = append(batch, inv)
			if len(batch) >= w.opts.BatchSize {
				flush.Stop()
				batch = w.write(writeCtx, batch)
			}
		case <-flush.C:
			batch = w.write(writeCtx, batch)
		case <-trim.C:
			w.trim(ctx)
		}
	}
}

// drain writes batch and everything queued.
func (w *InvocationWriter) drain(ctx context.Context, batch []Invocation) {
	for {
		select {
		case inv := <-w.queue:
			batch = append(batch, inv)
			if len(batch) >= w.opts.BatchSize {
				batch = w.write(ctx, batch)
			}
		default:
			w.write(ctx, batch)
			return
		}
	}
}

// write stores a batch and returns it emptied for reuse. Logs never hold
// up requests: what cannot be stored is logged and counted as dropped.
func (w *InvocationWriter) write(ctx context.Context, batch []Invocation) []Invocation {
	if len(batch) == 0 {
		return batch
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	w.store(ctx, batch)
	clear(batch)
	return batch[:0]
}

// store writes rows with one INSERT. When that fails while the database
// still answers, a row must be at fault: the rows are split in halves and
// each half stored the same way, so a bad row costs only itself (and
// about 2*log2(rows) extra INSERTs). When the database does not answer, or ctx is
// done, the rows are dropped at once rather than tried one by one.
func (w *InvocationWriter) store(ctx context.Context, rows []Invocation) {
	err := w.db.InsertInvocations(ctx, rows)
	switch {
	case err == nil:
		return
	case len(rows) == 1:
		w.dropped.Add(1)
		w.logger.Warn("invocation record not stored", "request_id", rows[0].RequestID,
			"app", rows[0].AppID, "script", rows[0].ScriptID, "err", err)
		return
	}
	if perr := w.db.bun.PingContext(ctx); perr != nil {
		w.dropped.Add(uint64(len(rows)))
		w.logger.Error("write invocation logs", "rows", len(rows), "err", err)
		return
	}
	half := len(rows) / 2
	w.store(ctx, rows[:half])
	w.store(ctx, rows[half:])
}

func (w *InvocationWriter) trim(ctx context.Context) {
	n, err := w.db.TrimInvocations(ctx, w.opts.Retain)
	if err != nil {
		if ctx.Err() == nil {
			w.logger.Error("trim invocation logs", "retain", w.opts.Retain, "err", err)
		}
		return
	}
	if n > 0 {
		w.logger.Debug("trimmed invocation logs", "deleted", n, "retain", w.opts.Retain)
	}
}
