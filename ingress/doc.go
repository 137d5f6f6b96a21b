// Package ingress owns the public HTTP front door: the fasthttp handler
// that serves the reserved paths (/healthz, /readyz, /version, /metrics, the admin
// API and UI, /api/v1/execute/{id}), resolves Host -> app from an
// immutable Table (domain claims, then {slug}.{base_domain}, then the
// default app; a former slug answers 308 to the current one), enforces
// the app's body limits, and hands every other request to that app's
// router actor by message, with the parameters its domain claim captured.
// The Table is swapped atomically and read without locks; resolving a
// host allocates only for captured parameters.
//
// Ingress never imports the sandbox and never touches the database on
// the request path: scripts run behind actor messages, and invocation
// records leave through a non-blocking Recorder.
package ingress
