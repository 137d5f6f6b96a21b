// Package apiclient is a typed client of PiCloud's admin API
// (/api/v1/admin), the one the CLI speaks. It uses only the endpoints the
// API's OpenAPI document describes, and turns the API's JSON errors into
// *Error values.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Prefix is where the admin API lives on a server.
const Prefix = "/api/v1/admin"

// DefaultTimeout bounds one request that is not a stream.
const DefaultTimeout = 60 * time.Second

// Client talks to one PiCloud server as one user.
type Client struct {
	// BaseURL is the server, e.g. "http://127.0.0.1:8080" (no trailing
	// slash needed).
	BaseURL string
	// Token is the session or API token sent as the bearer token; empty
	// sends none.
	Token string
	// HTTP is the client requests go through; nil means
	// http.DefaultClient. Each call bounds itself with DefaultTimeout,
	// streams run as long as their context.
	HTTP *http.Client
	// UserAgent names the caller, e.g. "picloud-cli/0.1.0".
	UserAgent string
}

// New returns a client of baseURL with token. Its HTTP client has no
// overall timeout and dials names under .localhost (admin.localhost, the
// admin host of a local install) on loopback.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Transport: localTransport()}}
}

// localTransport is http.DefaultTransport dialing every name under
// .localhost as "localhost". RFC 6761 reserves those names for loopback,
// and browsers and curl resolve them so, but Go's resolver asks DNS for
// them: admin.localhost, the default admin host, would not resolve. The
// request keeps its host, so the Host header still names the admin host.
func localTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	var d net.Dialer
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && isLocalhost(host) {
			addr = net.JoinHostPort("localhost", port)
		}
		return d.DialContext(ctx, network, addr)
	}
	return t
}

// isLocalhost reports whether host is a name under .localhost.
func isLocalhost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return strings.HasSuffix(host, ".localhost")
}

// Error is an error answer of the API.
type Error struct {
	Status    int    `json:"-"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Field     string `json:"field,omitempty"`
	Line      int    `json:"line,omitempty"`
	Column    int    `json:"column,omitempty"`
}

func (e *Error) Error() string {
	msg := e.Message
	switch {
	case e.Status == http.StatusUnauthorized:
		msg += " (log in with `picloud login`, or set PICLOUD_TOKEN)"
	case e.Status == http.StatusNotFound && strings.Contains(msg, "server.admin_host"):
		msg += " (give --server the admin host's URL, such as http://admin.localhost:8080)"
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, msg)
}

// IsStatus reports whether err is an API answer with that status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// newRequest builds a request to path (absolute on the server) with an
// optional JSON body.
func (c *Client) newRequest(ctx context.Context, method, path string, in any) (*http.Request, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	return req, nil
}

// call sends a request to the admin API at path (below Prefix) and
// decodes a JSON answer into out (when not nil).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, method, Prefix+path, in)
	if err != nil {
		return err
	}
	res, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, Prefix+path, err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		return readError(res)
	}
	if out == nil || res.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, Prefix+path, err)
	}
	return nil
}

// readError turns an error answer into an *Error; an answer that is not
// the API's JSON error (a proxy's page, say) keeps its status and text.
func readError(res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var env struct {
		Error *Error `json:"error"`
	}
	if json.Unmarshal(b, &env) == nil && env.Error != nil && env.Error.Code != "" {
		env.Error.Status = res.StatusCode
		return env.Error
	}
	text := strings.TrimSpace(string(b))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	return &Error{Status: res.StatusCode, Code: strings.ToLower(strings.ReplaceAll(http.StatusText(res.StatusCode), " ", "_")), Message: text}
}

// pathArg escapes one path segment.
func pathArg(s string) string { return url.PathEscape(s) }

// items is the API's list envelope.
type items[T any] struct {
	Items []T `json:"items"`
}
