package apiclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// reconnectDelay is the wait before a dropped stream is opened again.
const reconnectDelay = time.Second

// StreamOptions say where a stream starts and who hears it is open.
type StreamOptions struct {
	// After is the id of the invocation the stream starts after; < 0
	// means after the newest one stored when it opens.
	After int64
	// Ready, when set, is called once, when the stream is first open:
	// every invocation stored from then on will come.
	Ready func()
}

// StreamInvocations calls fn with each invocation matching f, as it is
// stored, until ctx ends (then it returns nil) or fn returns an error
// (returned as is). The server ends a stream now and then and a
// connection may drop: StreamInvocations reconnects where it left off,
// so nothing is missed or repeated. An error answer other than 503 (401,
// 404, ...) ends it with that error.
func (c *Client) StreamInvocations(ctx context.Context, f InvocationFilter, opts StreamOptions, fn func(Invocation) error) error {
	after := opts.After
	ready := opts.Ready
	for {
		err := c.streamOnce(ctx, f, &after, &ready, fn)
		var apiErr *Error
		var stop *stopError
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &stop):
			return stop.err
		case errors.As(err, &apiErr) && apiErr.Status != http.StatusServiceUnavailable:
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(reconnectDelay):
		}
	}
}

// stopError carries an error of the caller's fn out of the stream.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }

// streamOnce reads one connection's events; *after follows the id of the
// last event read.
func (c *Client) streamOnce(ctx context.Context, f InvocationFilter, after *int64, ready *func(), fn func(Invocation) error) error {
	q := f.query()
	q.Del("limit")
	req, err := c.newRequest(ctx, "GET", Prefix+"/invocations/stream?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if *after >= 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(*after, 10))
	}
	res, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("open invocation stream: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return readError(res)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var id, event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event == "ready" && *ready != nil {
				(*ready)()
				*ready = nil
			}
			if err := dispatch(id, event, data, after, fn); err != nil {
				return err
			}
			id, event, data = "", "", ""
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(line[len("id:"):])
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(line[len("event:"):])
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimPrefix(line[len("data:"):], " ")
		}
	}
	return sc.Err()
}

// dispatch handles one complete event.
func dispatch(id, event, data string, after *int64, fn func(Invocation) error) error {
	if n, err := strconv.ParseInt(id, 10, 64); err == nil && n >= 0 {
		*after = n
	}
	if event != "invocation" || data == "" {
		return nil
	}
	var inv Invocation
	if err := json.Unmarshal([]byte(data), &inv); err != nil {
		return fmt.Errorf("invocation stream: bad event: %w", err)
	}
	if err := fn(inv); err != nil {
		return &stopError{err}
	}
	return nil
}
