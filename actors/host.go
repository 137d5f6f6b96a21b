package actors

import "github.com/picloud/picloud/sandbox/sdk"

// HostProvider opens the Host of each script call: what the script's SDK
// v2 calls (picloud.KV, Secret, Fetch, Invoke) reach. The executor opens
// one per call and hands it to the engine in the call's context; the
// engine, in this process or a worker, serves the script's calls with
// it. Without a provider those calls answer sdk.ErrNoHost.
type HostProvider interface {
	Open(scope CallScope) CallHost
}

// CallScope is who a call is: the Host it gets is scoped to its app.
type CallScope struct {
	AppID     int64
	App       string // slug
	ScriptID  int64
	Script    string
	RequestID string
	Trigger   string
	// Depth counts the picloud.Invoke calls that led to this one (0 for
	// a call from outside).
	Depth int
}

// CallHost is the Host of one call, and what the call leaves for its
// invocation record.
type CallHost interface {
	sdk.Host
	// Mask hides in s every secret value the call read.
	Mask(s string) string
	// Fetches lists the outbound requests the call made.
	Fetches() []FetchRecord
}

// FetchRecord is one outbound request of a call, as its invocation
// record keeps it.
type FetchRecord struct {
	Method string `json:"method"`
	// URL leaves out credentials, query and fragment.
	URL        string `json:"url"`
	Status     int    `json:"status,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// WithHosts makes the Runtime's executors give each call a Host from p.
func WithHosts(p HostProvider) Option {
	return func(rt *Runtime) { rt.hosts = p }
}
