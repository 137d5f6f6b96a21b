package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Phases of a run, read by every worker after every request.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// errorPause is how long a worker waits after a failed request, so a dead
// server does not turn the generator into a busy loop.
const errorPause = 10 * time.Millisecond

// options describe one load run.
type options struct {
	url      string
	conns    int
	duration time.Duration
	warmup   time.Duration
	timeout  time.Duration
}

// result is what a run measured. Latencies are in microseconds.
type result struct {
	URL         string  `json:"url"`
	Connections int     `json:"connections"`
	Seconds     float64 `json:"seconds"`
	Requests    uint64  `json:"requests"`
	RPS         float64 `json:"rps"`
	P50us       float64 `json:"p50_us"`
	P99us       float64 `json:"p99_us"`
	MaxUs       float64 `json:"max_us"`
	Non2xx      uint64  `json:"non_2xx"`
	Errors      uint64  `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
}

// target is where requests go, split the way fasthttp.HostClient wants it.
type target struct {
	addr  string // host:port to dial
	host  string // Host header
	uri   string // request URI: path and query
	isTLS bool
}

func parseTarget(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, fmt.Errorf("parse -url: %w", err)
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return target{}, fmt.Errorf("-url %q: want http://host[:port]/path", raw)
	}
	t := target{addr: u.Host, host: u.Host, uri: u.RequestURI(), isTLS: u.Scheme == "https"}
	if u.Port() == "" {
		port := "80"
		if t.isTLS {
			port = "443"
		}
		t.addr = net.JoinHostPort(u.Hostname(), port)
	}
	return t, nil
}

// worker drives one keep-alive connection, one request at a time, like one
// wrk connection. It owns its client, so workers share no locks; they share
// only the phase word, which they read.
type worker struct {
	client *fasthttp.HostClient
	hist   histogram
	non2xx uint64
	errs   uint64
	err    error // first error seen while measuring
}

func newWorker(t target, timeout time.Duration) *worker {
	return &worker{client: &fasthttp.HostClient{
		Addr:                     t.addr,
		IsTLS:                    t.isTLS,
		MaxConns:                 1,
		ReadTimeout:              timeout,
		WriteTimeout:             timeout,
		MaxConnWaitTimeout:       timeout,
		NoDefaultUserAgentHeader: true,
	}}
}

// loop sends requests until the phase is phaseStop, recording those that
// complete while it is phaseMeasure.
func (w *worker) loop(t target, phase *atomic.Int32) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(t.uri)
	req.Header.SetHost(t.host)
	req.Header.SetMethod(fasthttp.MethodGet)
	for {
		start := time.Now()
		err := w.client.Do(req, resp)
		elapsed := time.Since(start)
		switch phase.Load() {
		case phaseStop:
			return
		case phaseMeasure:
			w.count(err, resp.StatusCode(), elapsed)
		}
		if err != nil {
			time.Sleep(errorPause)
		}
	}
}

func (w *worker) count(err error, status int, elapsed time.Duration) {
	switch {
	case err != nil:
		w.errs++
		if w.err == nil {
			w.err = err
		}
	case status < 200 || status > 299:
		w.non2xx++
		w.hist.record(elapsed)
	default:
		w.hist.record(elapsed)
	}
}

// run warms up for opts.warmup, measures for opts.duration and reports what
// completed in the measured window. Cancelling ctx ends the run early with
// what was measured so far.
func run(ctx context.Context, opts options) (*result, error) {
	t, err := parseTarget(opts.url)
	if err != nil {
		return nil, err
	}
	if opts.conns < 1 || opts.duration <= 0 || opts.warmup < 0 || opts.timeout <= 0 {
		return nil, errors.New("want -c >= 1, -d > 0, -warmup >= 0 and -timeout > 0")
	}
	var phase atomic.Int32
	workers := make([]*worker, opts.conns)
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = newWorker(t, opts.timeout)
		wg.Go(func() { workers[i].loop(t, &phase) })
	}
	sleep(ctx, opts.warmup)
	phase.Store(phaseMeasure)
	start := time.Now()
	sleep(ctx, opts.duration)
	phase.Store(phaseStop)
	elapsed := time.Since(start)
	wg.Wait()
	return summarize(opts, workers, elapsed), nil
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

func summarize(opts options, workers []*worker, elapsed time.Duration) *result {
	var all histogram
	r := &result{URL: opts.url, Connections: opts.conns, Seconds: elapsed.Seconds()}
	for _, w := range workers {
		all.merge(&w.hist)
		r.Non2xx += w.non2xx
		r.Errors += w.errs
		if r.FirstError == "" && w.err != nil {
			r.FirstError = w.err.Error()
		}
	}
	r.Requests = all.total
	if elapsed > 0 {
		r.RPS = float64(all.total) / elapsed.Seconds()
	}
	r.P50us = micros(all.quantile(0.50))
	r.P99us = micros(all.quantile(0.99))
	r.MaxUs = micros(all.max)
	return r
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
