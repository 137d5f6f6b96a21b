// How a script's health shows: the server derives it from the latest
// calls (ok, degraded, failing, parked); the UI only words it.

/** healthBadge is how a health shows: a class, a label and a title. */
export function healthBadge(h) {
	if (!h) return { cls: 'muted', label: 'unknown', title: 'No health information' };
	const calls = h.recent_calls ?? 0;
	const failed = h.recent_failures ?? 0;
	const of = calls ? `${failed} of the last ${calls} calls failed` : 'no calls in the last 15 minutes';
	switch (h.state) {
		case 'parked':
			return { cls: 'bad', label: 'parked', title: h.reason ? `Parked: ${h.reason}` : 'Parked after crashing; answers 503 until changed' };
		case 'failing':
			return { cls: 'bad', label: 'failing', title: of };
		case 'degraded':
			return { cls: 'warn', label: 'degraded', title: of };
		default:
			return { cls: 'good', label: 'ok', title: of };
	}
}
