package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// adminHost is the Host of the admin API on a default config.
const adminHost = "admin.localhost"

// script is the source of script n: its answer names n and the version.
func script(n, version int) string {
	return fmt.Sprintf(`package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.JSON(200, map[string]any{"script": %d, "version": %d})
}
`, n, version)
}

func answer(n, version int) string { return fmt.Sprintf(`{"script":%d,"version":%d}`, n, version) }

// client talks to one server on 127.0.0.1.
type client struct {
	base  string
	http  *http.Client
	token string
}

func newClient(port int) *client {
	return &client{
		base: fmt.Sprintf("http://127.0.0.1:%d", port),
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
	}
}

func (c *client) waitHealthy(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/healthz", nil)
		res, err := c.http.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy after %s (last error: %v)", limit, err)
		}
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
}

// admin sends one admin API request and decodes the JSON answer into out.
func (c *client) admin(ctx context.Context, method, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/api/v1/admin"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Host = adminHost
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// setup makes the first admin with the setup token and keeps its session.
func (c *client) setup(ctx context.Context, token string) error {
	var s struct {
		Token string `json:"token"`
	}
	err := c.admin(ctx, http.MethodPost, "/auth/setup",
		map[string]string{"token": token, "username": "bench", "password": "bench password 1234"}, &s)
	if err != nil {
		return err
	}
	if s.Token == "" {
		return fmt.Errorf("setup answered no session token")
	}
	c.token = s.Token
	return nil
}

// call requests GET /m/n of the Hello World app and returns its body and
// how long it took.
func (c *client) call(ctx context.Context, n int) (string, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/m/%d", c.base, n), nil)
	if err != nil {
		return "", 0, err
	}
	t0 := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("GET /m/%d: %w", n, err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	took := time.Since(t0)
	if err != nil {
		return "", 0, fmt.Errorf("GET /m/%d: %w", n, err)
	}
	if res.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("GET /m/%d: %s: %s", n, res.Status, b)
	}
	return strings.TrimSpace(string(b)), took, nil
}

// deployAll creates scripts 0..n-1 in the Hello World app, each bound to
// GET /m/N, parallel at a time, and returns their ids by N.
func deployAll(ctx context.Context, c *client, n, parallel int) ([]int64, error) {
	ids := make([]int64, n)
	next := make(chan int)
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for i := range next {
				var s struct {
					ID int64 `json:"id"`
				}
				err := c.admin(ctx, http.MethodPost, "/apps/hello/scripts",
					map[string]string{"name": fmt.Sprintf("m%d", i), "source": script(i, 1)}, &s)
				if err == nil {
					err = c.admin(ctx, http.MethodPost, fmt.Sprintf("/scripts/%d/routes", s.ID),
						map[string]string{"method": "GET", "path": fmt.Sprintf("/m/%d", i)}, nil)
				}
				if err != nil {
					errs <- err
					return
				}
				ids[i] = s.ID
			}
		})
	}
	var err error
feed:
	for i := range n {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil && len(errs) > 0 {
		err = <-errs
	}
	return ids, err
}

// measureDeploys PUTs rounds new versions of script 0 and polls GET /m/0
// after each until it answers the new version: the time from the start
// of the PUT to that answer, and how long the answering call took (the
// first call of the new version).
func measureDeploys(ctx context.Context, c *client, id int64, rounds int) (toAnswer, firstCall []time.Duration, err error) {
	for r := range rounds {
		version := r + 2
		t0 := time.Now()
		if err := c.admin(ctx, http.MethodPut, fmt.Sprintf("/scripts/%d", id),
			map[string]string{"source": script(0, version)}, nil); err != nil {
			return nil, nil, err
		}
		want := answer(0, version)
		for {
			got, took, err := c.call(ctx, 0)
			if err != nil {
				return nil, nil, err
			}
			if got == want {
				toAnswer = append(toAnswer, time.Since(t0))
				firstCall = append(firstCall, took)
				break
			}
			if time.Since(t0) > 10*time.Second {
				return nil, nil, fmt.Errorf("version %d not live 10 s after its PUT (answer %s)", version, got)
			}
		}
	}
	return toAnswer, firstCall, nil
}

// quantiles are p50, p90, p99 and the maximum of d.
func quantiles(d []time.Duration) [4]time.Duration {
	if len(d) == 0 {
		return [4]time.Duration{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return [4]time.Duration{q(0.50), q(0.90), q(0.99), s[len(s)-1]}
}
