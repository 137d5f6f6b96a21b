package models

import (
	"time"

	"github.com/uptrace/bun"
)

// App is the isolation boundary: it owns scripts, routes, domain claims
// and (later) every other kind of user data, all of which carry its id.
type App struct {
	bun.BaseModel `bun:"table:apps,alias:a" json:"-"`

	ID int64 `bun:"id,pk,autoincrement" json:"id"`
	// Slug names the app in URLs and host names ({slug}.{base_domain});
	// unique.
	Slug      string      `bun:"slug,notnull" json:"slug"`
	Name      string      `bun:"name,notnull" json:"name"`
	Settings  AppSettings `bun:"embed:" json:"settings"`
	CreatedAt time.Time   `bun:"created_at,notnull" json:"created_at"`
	UpdatedAt time.Time   `bun:"updated_at,notnull" json:"updated_at"`
}

// AppSettings are an app's own script limits and error privacy. A nil field means the
// default from config.hcl.
type AppSettings struct {
	// TimeoutMS is the time budget of one invocation, in milliseconds.
	TimeoutMS *int64 `bun:"timeout_ms" json:"timeout_ms"`
	// MaxConcurrency is how many invocations of one script version may
	// run at once.
	MaxConcurrency *int64 `bun:"max_concurrency" json:"max_concurrency"`
	// MaxOutput bounds the output kept per invocation, in bytes.
	MaxOutput *int64 `bun:"max_output" json:"max_output"`
	// MaxRequestBody and MaxResponseBody bound the bodies, in bytes.
	MaxRequestBody  *int64 `bun:"max_request_body" json:"max_request_body"`
	MaxResponseBody *int64 `bun:"max_response_body" json:"max_response_body"`
	// KVMaxKeys and KVMaxBytes bound the app's key-value storage.
	KVMaxKeys  *int64 `bun:"kv_max_keys" json:"kv_max_keys"`
	KVMaxBytes *int64 `bun:"kv_max_bytes" json:"kv_max_bytes"`
	// FetchAllow, when set, lists the only hosts the app's scripts may
	// fetch from; FetchDeny lists hosts they may not (see HostList).
	FetchAllow HostList `bun:"fetch_allow" json:"fetch_allow"`
	FetchDeny  HostList `bun:"fetch_deny" json:"fetch_deny"`
	// PublicErrors shows public callers the details of a failed call
	// (for development); nil means the server's server.public_errors.
	PublicErrors *bool `bun:"public_errors" json:"public_errors"`
}

// AppChange is an update of an app: nil fields stay as they are.
type AppChange struct {
	Name     *string
	Slug     *string
	Settings *AppSettings
}
