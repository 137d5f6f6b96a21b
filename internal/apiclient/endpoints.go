package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// Login logs in with a password and returns the session, its token
// included.
func (c *Client) Login(ctx context.Context, username, password string) (*Session, error) {
	var s Session
	err := c.call(ctx, "POST", "/auth/login", map[string]string{"username": username, "password": password}, &s)
	return &s, err
}

// Logout ends the session the client's token belongs to.
func (c *Client) Logout(ctx context.Context) error {
	return c.call(ctx, "POST", "/auth/logout", nil, nil)
}

// Me returns who the client's token belongs to.
func (c *Client) Me(ctx context.Context) (*Session, error) {
	var s Session
	err := c.call(ctx, "GET", "/auth/me", nil, &s)
	return &s, err
}

// Tokens lists the caller's API tokens.
func (c *Client) Tokens(ctx context.Context) ([]Token, error) {
	var out items[Token]
	err := c.call(ctx, "GET", "/tokens", nil, &out)
	return out.Items, err
}

// CreateToken makes an API token; expiresIn is "" (never) or a lifetime
// such as "90d". The secret is in the answer's Secret, and only there.
func (c *Client) CreateToken(ctx context.Context, name, expiresIn string) (*Token, error) {
	var t Token
	err := c.call(ctx, "POST", "/tokens", map[string]string{"name": name, "expires_in": expiresIn}, &t)
	return &t, err
}

// RevokeToken revokes one of the caller's API tokens.
func (c *Client) RevokeToken(ctx context.Context, id int64) error {
	return c.call(ctx, "DELETE", "/tokens/"+strconv.FormatInt(id, 10), nil, nil)
}

// Apps lists the apps.
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	var out items[App]
	err := c.call(ctx, "GET", "/apps", nil, &out)
	return out.Items, err
}

// App returns an app by id or slug.
func (c *Client) App(ctx context.Context, ref string) (*App, error) {
	var a App
	err := c.call(ctx, "GET", "/apps/"+pathArg(ref), nil, &a)
	return &a, err
}

// CreateApp makes an app.
func (c *Client) CreateApp(ctx context.Context, slug, name string) (*App, error) {
	var a App
	err := c.call(ctx, "POST", "/apps", map[string]string{"slug": slug, "name": name}, &a)
	return &a, err
}

// Secrets lists the secrets of app (id or slug): names and
// fingerprints, never values.
func (c *Client) Secrets(ctx context.Context, app string) ([]Secret, error) {
	var out items[Secret]
	err := c.call(ctx, "GET", "/apps/"+pathArg(app)+"/secrets", nil, &out)
	return out.Items, err
}

// SetSecret sets the secret name of app to value, creating or replacing
// it.
func (c *Client) SetSecret(ctx context.Context, app, name, value string) (*Secret, error) {
	var s Secret
	err := c.call(ctx, "PUT", "/apps/"+pathArg(app)+"/secrets/"+pathArg(name), map[string]string{"value": value}, &s)
	return &s, err
}

// DeleteSecret deletes the secret name of app.
func (c *Client) DeleteSecret(ctx context.Context, app, name string) error {
	return c.call(ctx, "DELETE", "/apps/"+pathArg(app)+"/secrets/"+pathArg(name), nil, nil)
}

// AppChange is a PATCH of an app; nil fields stay.
type AppChange struct {
	Slug *string `json:"slug,omitempty"`
	Name *string `json:"name,omitempty"`
}

// UpdateApp changes an app's slug or name.
func (c *Client) UpdateApp(ctx context.Context, ref string, change AppChange) (*App, error) {
	var a App
	err := c.call(ctx, "PATCH", "/apps/"+pathArg(ref), change, &a)
	return &a, err
}

// DeleteApp deletes an app with its scripts, routes and domains.
func (c *Client) DeleteApp(ctx context.Context, ref string) error {
	return c.call(ctx, "DELETE", "/apps/"+pathArg(ref), nil, nil)
}

// Domains lists an app's domain claims.
func (c *Client) Domains(ctx context.Context, app string) ([]Domain, error) {
	var out items[Domain]
	err := c.call(ctx, "GET", "/apps/"+pathArg(app)+"/domains", nil, &out)
	return out.Items, err
}

// Scripts lists an app's scripts.
func (c *Client) Scripts(ctx context.Context, app string) ([]Script, error) {
	var out items[Script]
	err := c.call(ctx, "GET", "/apps/"+pathArg(app)+"/scripts", nil, &out)
	return out.Items, err
}

// Script returns a script with its live version's source and hash.
func (c *Client) Script(ctx context.Context, id int64) (*ScriptVersion, error) {
	var s ScriptVersion
	err := c.call(ctx, "GET", "/scripts/"+strconv.FormatInt(id, 10), nil, &s)
	return &s, err
}

// CreateScript makes a script of app from source (version 1). A source
// that does not compile is an *Error with status 422, Line and Column.
func (c *Client) CreateScript(ctx context.Context, app, name, source string) (*ScriptVersion, error) {
	var s ScriptVersion
	err := c.call(ctx, "POST", "/apps/"+pathArg(app)+"/scripts", map[string]string{"name": name, "source": source}, &s)
	return &s, err
}

// UpdateScript makes source the script's live version; the live source
// again makes no new version.
func (c *Client) UpdateScript(ctx context.Context, id int64, source string) (*ScriptVersion, error) {
	var s ScriptVersion
	err := c.call(ctx, "PUT", "/scripts/"+strconv.FormatInt(id, 10), map[string]string{"source": source}, &s)
	return &s, err
}

// DeleteScript deletes a script with its versions and routes.
func (c *Client) DeleteScript(ctx context.Context, id int64) error {
	return c.call(ctx, "DELETE", "/scripts/"+strconv.FormatInt(id, 10), nil, nil)
}

// AppRoutes lists every route of an app.
func (c *Client) AppRoutes(ctx context.Context, app string) ([]Route, error) {
	var out items[Route]
	err := c.call(ctx, "GET", "/apps/"+pathArg(app)+"/routes", nil, &out)
	return out.Items, err
}

// CreateRoute binds method and path to a script.
func (c *Client) CreateRoute(ctx context.Context, scriptID int64, method, path string) (*Route, error) {
	var r Route
	err := c.call(ctx, "POST", "/scripts/"+strconv.FormatInt(scriptID, 10)+"/routes",
		map[string]string{"method": method, "path": path}, &r)
	return &r, err
}

// DeleteRoute unbinds a route.
func (c *Client) DeleteRoute(ctx context.Context, id int64) error {
	return c.call(ctx, "DELETE", "/routes/"+strconv.FormatInt(id, 10), nil, nil)
}

// query is the query string of f.
func (f InvocationFilter) query() url.Values {
	q := url.Values{}
	if f.App != "" {
		q.Set("app", f.App)
	}
	if f.ScriptID != 0 {
		q.Set("script", strconv.FormatInt(f.ScriptID, 10))
	}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.Node != "" {
		q.Set("node", f.Node)
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// Invocations lists the newest invocations matching f, newest first.
func (c *Client) Invocations(ctx context.Context, f InvocationFilter) ([]Invocation, error) {
	var out items[Invocation]
	path := "/invocations"
	if q := f.query().Encode(); q != "" {
		path += "?" + q
	}
	err := c.call(ctx, "GET", path, nil, &out)
	return out.Items, err
}

// Invocation returns the invocation of one request.
func (c *Client) Invocation(ctx context.Context, requestID string) (*Invocation, error) {
	var inv Invocation
	err := c.call(ctx, "GET", "/invocations/"+pathArg(requestID), nil, &inv)
	return &inv, err
}

// Config returns the server's effective configuration (what the CLI
// needs of it).
func (c *Client) Config(ctx context.Context) (*ServerConfig, error) {
	var cfg ServerConfig
	err := c.call(ctx, "GET", "/config", nil, &cfg)
	return &cfg, err
}

// ServerInfo returns GET /version, which needs no login.
func (c *Client) ServerInfo(ctx context.Context) (*ServerInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, "GET", "/version", nil)
	if err != nil {
		return nil, err
	}
	res, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach %s: %w", c.BaseURL, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, readError(res)
	}
	var info ServerInfo
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil || info.API == "" {
		return nil, fmt.Errorf("%s does not look like a PiCloud server (GET /version: %v)", c.BaseURL, err)
	}
	return &info, nil
}

// ExecuteResult is a script's answer to Execute.
type ExecuteResult struct {
	Status    int
	Header    http.Header
	Body      []byte
	RequestID string
}

// Execute calls script id through /api/v1/execute/{id}{path}, bypassing
// routes, with method, header and body; path starts with "/" (or is
// empty for "/"). Any status the script answers is a result, not an
// error.
func (c *Client) Execute(ctx context.Context, id int64, method, path string, header http.Header, body []byte) (*ExecuteResult, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	if path != "" && path[0] != '/' {
		path = "/" + path
	}
	req, err := c.newRequest(ctx, method, "/api/v1/execute/"+strconv.FormatInt(id, 10)+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Del("Accept")
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	res, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("execute script %d: %w", id, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("execute script %d: read answer: %w", id, err)
	}
	return &ExecuteResult{Status: res.StatusCode, Header: res.Header, Body: b, RequestID: res.Header.Get("X-Request-Id")}, nil
}
