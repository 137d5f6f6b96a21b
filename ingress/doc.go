// Package ingress owns the public HTTP front door: the fasthttp handler
// that serves the reserved paths (/healthz, /readyz, /version; on the
// admin host alone the admin API, its OpenAPI description at
// /api/v1/openapi.json, the UI and /api/v1/execute/{id}), resolves
// Host -> app from an immutable Table (domain claims, then
// {slug}.{base_domain}, then the default app; a former slug answers 308
// to the current one), enforces the app's body limits, and hands every
// other request to that app's router actor by message, with the
// parameters its domain claim captured. The Table is swapped atomically
// and read without locks; resolving a host allocates only for captured
// parameters.
//
// The admin host is an origin no script response is served from: no app
// answers it, a script run there through execute is sandboxed and sets no
// cookie, and no script anywhere may set the admin session cookie (see
// origin.go). Metrics are served on a listener of their own
// (MetricsHandler), never on this one.
//
// A script's response is checked here, the one place every response
// passes: a status of 200-599, header names that are tokens and values
// without control characters, no hop-by-hop or framing headers. The
// Listener keeps accept errors from ending the server and caps
// connections overall and per client; large bodies being read by slow
// clients are bounded by a memory budget.
//
// Ingress never imports the sandbox and never touches the database on
// the request path: scripts run behind actor messages, and invocation
// records leave through a non-blocking Recorder.
package ingress
