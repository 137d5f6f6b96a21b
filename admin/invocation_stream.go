package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/apierror"
	"github.com/picloud/picloud/models"
)

// The live invocation log, GET /invocations/stream: server-sent events,
// first a "ready" event, then one "invocation" event per stored
// invocation. Every event's id is the stream's position (the highest
// invocation id it has sent), so a client that reconnects with
// Last-Event-ID sees nothing twice. Records that become visible after
// higher ids (another node's batch) are sent when they appear.
const (
	// streamPoll is how often a stream looks for new invocations. They
	// are stored in batches every 250 ms (models.InvocationWriter), so a
	// call shows within about half a second.
	streamPoll = 250 * time.Millisecond
	// streamHeartbeat is the longest a stream stays silent: a comment
	// line keeps proxies from closing it and finds clients that left.
	streamHeartbeat = 15 * time.Second
	// streamLifetime ends a stream that has run this long; the client
	// reconnects (EventSource does on its own) and shows its credential
	// again, so a revoked one stops streaming within this time.
	streamLifetime = 5 * time.Minute
	// streamWriteTimeout bounds one write to a client.
	streamWriteTimeout = 10 * time.Second
	// maxStreams bounds the open streams of one server: each polls the
	// database.
	maxStreams = 64
	// streamBatch is the most invocations one poll sends.
	streamBatch = 200
	// streamRetryMS is the reconnect delay the stream asks clients for.
	streamRetryMS = 1000
	// streamGapWait is how long a stream keeps asking for an id it moved
	// past before the row was visible (another node's batch that
	// committed late); a batch insert takes far less, so an id still
	// missing after it belongs to a batch that failed.
	streamGapWait = 10 * time.Second
)

// streamHub counts the open streams and ends them when the server stops.
type streamHub struct {
	mu     sync.Mutex
	open   int
	closed bool
	stop   chan struct{}
}

func newStreamHub() *streamHub { return &streamHub{stop: make(chan struct{})} }

// join admits one more stream; ok is false when the server is stopping
// or at maxStreams. Call leave when the stream ends.
func (h *streamHub) join() (stop <-chan struct{}, leave func(), ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.open >= maxStreams {
		return nil, nil, false
	}
	h.open++
	return h.stop, func() {
		h.mu.Lock()
		h.open--
		h.mu.Unlock()
	}, true
}

func (h *streamHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.stop)
	}
}

// CloseStreams ends every open invocation stream and refuses new ones;
// call it before shutting the HTTP server down, which otherwise waits for
// them.
func (a *API) CloseStreams() { a.streams.close() }

// invocationFilter reads the filters the invocation list and stream
// share: app (id or slug), script (id), status (a code such as 404 or a
// class such as 5xx) node and limit.
func (a *API) invocationFilter(ctx context.Context, rc *fasthttp.RequestCtx) (models.InvocationFilter, error) {
	args := rc.QueryArgs()
	var f models.InvocationFilter
	var err error
	if f.AppID, f.ScriptID, err = a.appScriptFilter(ctx, rc); err != nil {
		return f, err
	}
	if f.Status, f.StatusClass, err = statusParam(args); err != nil {
		return f, err
	}
	if f.Before, err = queryInt(args, "before", 1, math.MaxInt64); err != nil {
		return f, err
	}
	if f.Since, err = sinceParam(args, a.now()); err != nil {
		return f, err
	}
	if f.Node, err = nodeParam(args); err != nil {
		return f, err
	}
	limit, err := queryInt(args, "limit", 1, maxInvocationLimit)
	f.Limit = int(limit)
	return f, err
}

// sinceParam reads the since filter: an RFC 3339 time, or a duration
// back from now ("15m", "2h"). Zero when absent.
func sinceParam(args *fasthttp.Args, now time.Time) (time.Time, error) {
	raw := string(args.Peek("since"))
	if raw == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, raw); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(raw); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, invalid("since", "must be an RFC 3339 time (2026-01-02T15:04:05Z) or a duration back from now (15m, 2h), got %q", raw)
}

// statusParam reads the status filter: a code (100-999) or a class
// ("1xx" to "5xx").
func statusParam(args *fasthttp.Args) (status, class int, err error) {
	raw := string(args.Peek("status"))
	if len(raw) == 3 && raw[1:] == "xx" && raw[0] >= '1' && raw[0] <= '5' {
		return 0, int(raw[0] - '0'), nil
	}
	n, err := queryInt(args, "status", 100, 999)
	if err != nil {
		return 0, 0, invalid("status", "must be a status code from 100 to 999 or a class from 1xx to 5xx, got %q", raw)
	}
	return int(n), 0, nil
}

// streamStart is where a stream begins: after the Last-Event-ID a
// reconnecting client sends, else after the `after` argument, else after
// the newest invocation stored (only new ones).
func (a *API) streamStart(ctx context.Context, rc *fasthttp.RequestCtx) (int64, error) {
	if last := rc.Request.Header.Peek("Last-Event-ID"); len(last) > 0 {
		id, err := strconv.ParseInt(string(last), 10, 64)
		if err != nil || id < 0 {
			return 0, invalid("Last-Event-ID", "must be an invocation id, got %q", last)
		}
		return id, nil
	}
	if len(rc.QueryArgs().Peek("after")) > 0 {
		return queryInt(rc.QueryArgs(), "after", 0, 1<<62)
	}
	return a.db.LastInvocationID(ctx)
}

// streamInvocations serves GET /invocations/stream.
func (a *API) streamInvocations(ctx context.Context, rc *fasthttp.RequestCtx) error {
	f, err := a.invocationFilter(ctx, rc)
	if err != nil {
		return err
	}
	after, err := a.streamStart(ctx, rc)
	if err != nil {
		return err
	}
	stop, leave, ok := a.streams.join()
	if !ok {
		rc.Response.Header.Set(fasthttp.HeaderRetryAfter, "5")
		apierror.Writef(rc, fasthttp.StatusServiceUnavailable, "too_many_streams",
			"the server has "+strconv.Itoa(maxStreams)+" invocation streams open or is stopping; try again later")
		return nil
	}
	f.Limit = streamBatch
	rc.SetContentType("text/event-stream; charset=utf-8")
	rc.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	rc.Response.Header.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	s := &invocationStream{a: a, conn: rc.Conn(), filter: f, after: after, stop: stop,
		requestID: apierror.RequestID(rc), user: userOf(rc)}
	rc.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer leave()
		s.run(w)
	})
	return nil
}

// invocationStream is one client's live view.
type invocationStream struct {
	a      *API
	conn   net.Conn
	filter models.InvocationFilter
	after  int64
	// gaps are ids below after that had no visible row when the stream
	// passed them, with when it did: sent when they appear.
	gaps      map[int64]time.Time
	stop      <-chan struct{}
	requestID string
	user      string
}

// run writes events until the client goes, the stream's lifetime ends or
// the server stops.
func (s *invocationStream) run(w *bufio.Writer) {
	// The ready event's id is where the stream starts, so a client that
	// reconnects before any invocation came resumes from there.
	fmt.Fprintf(w, "retry: %d\nid: %d\nevent: ready\ndata: {\"after\":%d}\n\n", streamRetryMS, s.after, s.after)
	if !s.flush(w) {
		return
	}
	poll := time.NewTicker(streamPoll)
	defer poll.Stop()
	end := time.NewTimer(streamLifetime)
	defer end.Stop()
	lastWrite := time.Now()
	for {
		select {
		case <-s.stop:
			return
		case <-end.C:
			return
		case <-poll.C:
		}
		n, err := s.send(w)
		if err != nil {
			s.a.logger.Warn("invocation stream", "request_id", s.requestID, "user", s.user, "err", err)
			return
		}
		if n == 0 && time.Since(lastWrite) < streamHeartbeat {
			continue
		}
		if n == 0 {
			w.WriteString(": keep-alive\n\n")
		}
		if !s.flush(w) {
			return
		}
		lastWrite = time.Now()
	}
}

// send writes the invocations stored since the last one sent, and those
// of earlier ids that became visible late, and reports how many.
func (s *invocationStream) send(w *bufio.Writer) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.a.requestTimeout)
	defer cancel()
	late, err := s.late(ctx)
	if err != nil {
		return 0, err
	}
	invs, err := s.a.db.InvocationsAfter(ctx, s.filter, s.after)
	if err != nil {
		return 0, err
	}
	if len(invs) > 0 {
		missing, err := s.a.db.MissingInvocationIDs(ctx, s.after, invs[len(invs)-1].ID)
		if err != nil {
			return 0, err
		}
		for _, id := range missing {
			if s.gaps == nil {
				s.gaps = map[int64]time.Time{}
			}
			s.gaps[id] = time.Now()
		}
	}
	for _, batch := range [][]models.Invocation{late, invs} {
		for i := range batch {
			data, err := json.Marshal(&batch[i])
			if err != nil {
				return 0, fmt.Errorf("encode invocation %d: %w", batch[i].ID, err)
			}
			// The event id is where a reconnect resumes: never below
			// what was sent already.
			s.after = max(s.after, batch[i].ID)
			fmt.Fprintf(w, "id: %d\nevent: invocation\ndata: %s\n\n", s.after, data)
		}
	}
	return len(late) + len(invs), nil
}

// late returns the invocations of the stream's gaps that became visible,
// forgets those and the gaps older than streamGapWait.
func (s *invocationStream) late(ctx context.Context) ([]models.Invocation, error) {
	if len(s.gaps) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(s.gaps))
	for id, since := range s.gaps {
		if time.Since(since) > streamGapWait {
			delete(s.gaps, id)
			continue
		}
		ids = append(ids, id)
	}
	invs, stored, err := s.a.db.InvocationsIn(ctx, s.filter, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range stored {
		delete(s.gaps, id)
	}
	return invs, nil
}

// flush sends what is buffered under a write deadline; false when the
// client is gone.
func (s *invocationStream) flush(w *bufio.Writer) bool {
	if s.conn != nil {
		_ = s.conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	}
	return w.Flush() == nil
}
