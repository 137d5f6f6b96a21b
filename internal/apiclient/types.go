package apiclient

import "time"

// User is an admin user.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
	Disabled bool   `json:"disabled"`
}

// Session is the answer to a login, and to GET /auth/me (without Token).
type Session struct {
	Token     string    `json:"token,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	User      *User     `json:"user"`
	// APIToken is set when the request came with an API token.
	APIToken *Token `json:"api_token,omitempty"`
}

// Token is an API token; Secret only in the answer that creates it.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Secret     string     `json:"token,omitempty"`
}

// App is an app.
type App struct {
	ID        int64     `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Script is a script as lists show it: no source.
type Script struct {
	ID          int64     `json:"id"`
	AppID       int64     `json:"app_id"`
	Name        string    `json:"name"`
	LiveVersion int64     `json:"live_version"`
	State       string    `json:"state,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ScriptVersion is a script with one version: the live one from GET
// /scripts/{id}, the new (or unchanged) one from a create or update.
type ScriptVersion struct {
	Script
	Version int64  `json:"version"`
	Hash    string `json:"hash"`
	Source  string `json:"source,omitempty"`
}

// Route binds a method and path of an app to a script.
type Route struct {
	ID        int64     `json:"id"`
	AppID     int64     `json:"app_id"`
	ScriptID  int64     `json:"script_id"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	CreatedAt time.Time `json:"created_at"`
}

// Domain is a domain claim of an app.
type Domain struct {
	ID      int64  `json:"id"`
	AppID   int64  `json:"app_id"`
	Pattern string `json:"pattern"`
	Kind    string `json:"kind"`
}

// Invocation is the log of one script run.
type Invocation struct {
	ID         int64     `json:"id"`
	RequestID  string    `json:"request_id"`
	AppID      int64     `json:"app_id"`
	ScriptID   int64     `json:"script_id"`
	Version    int64     `json:"version"`
	RouteID    int64     `json:"route_id"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Status     int       `json:"status"`
	DurationUS int64     `json:"duration_us"`
	Output     string    `json:"output"`
	Error      string    `json:"error"`
	CreatedAt  time.Time `json:"created_at"`
	// Node is the cluster node that ran the script.
	Node string `json:"node"`
	// Trigger is what started the call: "http", "schedule" or "invoke".
	Trigger string `json:"trigger"`
	// Fetches are the outbound requests the script made.
	Fetches []Fetch `json:"fetches"`
}

// Fetch is one outbound request of a call, as its record keeps it.
type Fetch struct {
	Method     string `json:"method"`
	URL        string `json:"url"`
	Status     int    `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error"`
}

// Secret is an app's secret as the API shows it: never its value.
type Secret struct {
	Name        string    `json:"name"`
	KeyID       string    `json:"key_id"`
	Fingerprint string    `json:"fingerprint"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// InvocationFilter selects invocations; zero fields match all.
type InvocationFilter struct {
	// App is an app's id or slug.
	App      string
	ScriptID int64
	// Status is a status code ("404") or class ("5xx").
	Status string
	// Node is the name of the node that ran them.
	Node  string
	Limit int
}

// ServerInfo is GET /version.
type ServerInfo struct {
	Version       string `json:"version"`
	API           string `json:"api"`
	SDK           string `json:"sdk"`
	PublicBaseURL string `json:"public_base_url"`
}

// ServerConfig is the part of GET /config the CLI uses.
type ServerConfig struct {
	Server struct {
		AdminHost     string `json:"admin_host"`
		BaseDomain    string `json:"base_domain"`
		DefaultApp    string `json:"default_app"`
		PublicBaseURL string `json:"public_base_url"`
	} `json:"server"`
}
