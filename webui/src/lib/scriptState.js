// Script health: the status endpoint (crash parking) is newer than some
// servers; a 404 from it means "no such information", never an error.
import { get } from './api.js';

/** scriptState returns {state, parked_until, reason, crashes} or null. */
export async function scriptState(app, script) {
	if (script.state && script.state !== 'parked') return { state: script.state };
	try {
		return await get(`/apps/${encodeURIComponent(app)}/scripts/${script.id}/status`);
	} catch (e) {
		if (e.status === 404 || e.status === 405) return null;
		throw e;
	}
}
