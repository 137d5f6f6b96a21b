// Script health, as the server derives it from the latest calls (the
// script list and the status endpoint answer the same `health`, so the
// UI and the CLI agree): ok, degraded, failing or parked. The status
// endpoint adds when and why a parked script is parked.
import { get } from './api.js';

/**
 * scriptState returns {state, recent_calls, recent_failures, parked_until,
 * reason} or null when the server has no such information.
 */
export async function scriptState(app, script) {
	if (script.health && script.health.state !== 'parked') return script.health;
	try {
		const st = await get(`/apps/${encodeURIComponent(app)}/scripts/${script.id}/status`);
		return { ...(st.health ?? { state: st.state }), parked_until: st.parked_until, reason: st.reason };
	} catch (e) {
		if (e.status === 404 || e.status === 405) return null;
		throw e;
	}
}

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
