// Small formatting helpers shared by the pages.

/** ago says how long ago an RFC 3339 time was, briefly. */
export function ago(iso, now = Date.now()) {
	const s = Math.round((now - Date.parse(iso)) / 1000);
	if (!isFinite(s)) return '';
	if (s < 5) return 'just now';
	if (s < 60) return `${s}s ago`;
	if (s < 3600) return `${Math.floor(s / 60)}m ago`;
	if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
	return `${Math.floor(s / 86400)}d ago`;
}

/** when is a full local date and time, for title attributes. */
export function when(iso) {
	const d = new Date(iso);
	return isNaN(d) ? '' : d.toLocaleString();
}

/** micros formats a duration in microseconds. */
export function micros(us) {
	if (us < 1000) return `${us} µs`;
	if (us < 1e6) return `${(us / 1000).toFixed(us < 1e4 ? 2 : 1)} ms`;
	return `${(us / 1e6).toFixed(2)} s`;
}

/** statusClass groups an HTTP status for colouring. */
export function statusClass(status) {
	if (status >= 500) return 'bad';
	if (status >= 400) return 'warn';
	return 'good';
}

/** plural: plural(2, 'script') == '2 scripts'. */
export function plural(n, word) {
	return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export const HANDLER_TEMPLATE = `package main

import "picloud"

// Handle answers one request. req.Params holds the route's :params,
// req.QueryParam reads the query string; picloud.Log lands in the
// invocation's log.
func Handle(req *picloud.Request) *picloud.Response {
	name := req.QueryParam("name")
	if name == "" {
		name = "world"
	}
	picloud.Log("greeting", name)
	return picloud.JSON(200, map[string]any{"hello": name})
}
`;
