// The server's effective configuration (GET /config), fetched once.
import { get } from './api.js';

let pending = null;

/** serverConfig resolves to the config, or {} when it cannot be read. */
export function serverConfig() {
	pending ??= get('/config').catch(() => {
		pending = null;
		return {};
	});
	return pending;
}

/** appOrigin is where an app answers by its slug: {slug}.{base_domain} on this port. */
export function appOrigin(slug, baseDomain) {
	if (!baseDomain) return '';
	const port = location.port ? `:${location.port}` : '';
	return `${location.protocol}//${slug}.${baseDomain}${port}`;
}
