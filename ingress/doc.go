// Package ingress owns the public HTTP front door: the fasthttp handler
// that serves the reserved paths (/healthz, /version, /metrics, the admin
// API and UI, /api/v1/execute/{id}), resolves Host -> app from an
// immutable Table, and hands every other request to that app's router
// actor by message.
//
// Ingress never imports the sandbox and never touches the database on
// the request path: scripts run behind actor messages, and invocation
// records leave through a non-blocking Recorder.
package ingress
