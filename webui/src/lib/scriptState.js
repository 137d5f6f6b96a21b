// Script health, as the server derives it from the latest calls (the
// script list and the status endpoint answer the same `health`, so the
// UI and the CLI agree): ok, degraded, failing or parked. The status
// endpoint adds when and why a parked script is parked.
import { get } from './api.js';

/**
 * scriptState returns {state, recent_calls, recent_failures, parked_until,
 * reason, parked_by} or null when the server has no such information.
 */
export async function scriptState(app, script) {
	if (script.health && script.health.state !== 'parked') return script.health;
	try {
		const st = await get(`/apps/${encodeURIComponent(app)}/scripts/${script.id}/status`);
		return { ...(st.health ?? { state: st.state }), parked_until: st.parked_until, reason: st.reason, parked_by: st.parked_by };
	} catch (e) {
		if (e.status === 404 || e.status === 405) return null;
		throw e;
	}
}
