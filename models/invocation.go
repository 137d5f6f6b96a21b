package models

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Invocation is the log of one script run: what was asked, how it ended,
// and what the script printed. Rows are written asynchronously by an
// InvocationWriter and trimmed to a retention limit. They keep no foreign
// keys: a log outlives the script or route it names.
type Invocation struct {
	bun.BaseModel `bun:"table:invocations,alias:i" json:"-"`

	ID         int64     `bun:"id,pk,autoincrement" json:"id"`
	RequestID  string    `bun:"request_id,notnull" json:"request_id"`
	AppID      int64     `bun:"app_id,notnull" json:"app_id"`
	ScriptID   int64     `bun:"script_id,notnull" json:"script_id"`
	Version    int64     `bun:"version,notnull" json:"version"`
	RouteID    int64     `bun:"route_id,notnull" json:"route_id"`
	Method     string    `bun:"method,notnull" json:"method"`
	Path       string    `bun:"path,notnull" json:"path"`
	Status     int       `bun:"status,notnull" json:"status"`
	DurationUS int64     `bun:"duration_us,notnull" json:"duration_us"`
	Output     string    `bun:"output,notnull" json:"output"`
	Error      string    `bun:"error,notnull" json:"error"`
	CreatedAt  time.Time `bun:"created_at,notnull" json:"created_at"`
	// Trigger is what started the call: "http", "schedule" or "invoke".
	Trigger string `bun:"trigger_kind,notnull" json:"trigger"`
	// Fetches are the outbound requests the script made.
	Fetches Fetches `bun:"fetches,notnull" json:"fetches"`
	// Node is the cluster node that ran the script (cluster.node_name;
	// a single server's configured or default name). "" on rows logged
	// before migration 0009.
	Node string `bun:"node,notnull" json:"node"`
}

// MaxRecordedFetches bounds the fetches kept per invocation.
const MaxRecordedFetches = 64

// InvocationFetch is one outbound request of an invocation.
type InvocationFetch struct {
	Method string `json:"method"`
	// URL leaves out credentials, query and fragment.
	URL        string `json:"url"`
	Status     int    `json:"status,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// Fetches are an invocation's outbound requests as JSON text ("" for
// none): a string, so that an Invocation stays comparable. NewFetches
// makes one.
type Fetches string

// NewFetches encodes fs, at most MaxRecordedFetches of them, their text
// made storable.
func NewFetches(fs []InvocationFetch) Fetches {
	if len(fs) == 0 {
		return ""
	}
	fs = fs[:min(len(fs), MaxRecordedFetches)]
	out := make([]InvocationFetch, len(fs))
	for i, f := range fs {
		f.Method = recordedText(f.Method, MaxRecordedMethod)
		f.URL = recordedText(f.URL, MaxRecordedPath)
		f.Error = recordedText(f.Error, MaxRecordedError)
		out[i] = f
	}
	b, err := json.Marshal(out)
	if err != nil {
		return ""
	}
	return Fetches(b)
}

// List decodes the fetches.
func (f Fetches) List() []InvocationFetch {
	var out []InvocationFetch
	if f != "" {
		_ = json.Unmarshal([]byte(f), &out)
	}
	return out
}

// MarshalJSON implements json.Marshaler: a JSON array.
func (f Fetches) MarshalJSON() ([]byte, error) {
	if f == "" || !json.Valid([]byte(f)) {
		return []byte("[]"), nil
	}
	return []byte(f), nil
}

// UnmarshalJSON implements json.Unmarshaler, the inverse of MarshalJSON,
// so that an Invocation read back from the API decodes.
func (f *Fetches) UnmarshalJSON(b []byte) error {
	var fs []InvocationFetch
	if err := json.Unmarshal(b, &fs); err != nil {
		return fmt.Errorf("fetches: %w", err)
	}
	*f = NewFetches(fs)
	return nil
}

// InvocationFilter selects invocations; zero fields match everything.
type InvocationFilter struct {
	AppID    int64
	ScriptID int64
	Status   int
	// StatusClass 1-5 matches the statuses 100*StatusClass to
	// 100*StatusClass+99 ("5xx").
	StatusClass int
	// Before and After, when non-zero, keep the invocations whose id is
	// below Before and above After: cursor paging by id.
	Before, After int64
	// Since, when not zero, keeps the invocations stored at or after it.
	Since time.Time
	// Node, when not "", keeps the invocations run by that node.
	Node string
	// Trigger, when not "", keeps the invocations started that way
	// ("http", "schedule", "invoke").
	Trigger string
	// Limit caps the rows returned: DefaultInvocationLimit when 0,
	// at most MaxInvocationLimit.
	Limit int
}

// Page sizes of ListInvocations.
const (
	DefaultInvocationLimit = 50
	MaxInvocationLimit     = 500
)

// MinuteCount is how many invocations of one script began in one minute,
// and how many of them failed with a server error (status 500 and up).
type MinuteCount struct {
	// Minute is the start of the minute, UTC.
	Minute   time.Time `json:"minute"`
	ScriptID int64     `json:"script_id"`
	Requests int64     `json:"requests"`
	Errors   int64     `json:"errors"`
}

// MinuteFilter selects the invocations InvocationsPerMinute counts: those
// logged at or after Since, of AppID and of ScriptID; zero fields match
// everything.
type MinuteFilter struct {
	AppID    int64
	ScriptID int64
	Since    time.Time
}
