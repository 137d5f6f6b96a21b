// Client-side checks that mirror the admin API's, for messages while
// typing; the server stays the judge.

/** slugProblem returns what is wrong with an app slug, or ''. */
export function slugProblem(s) {
	if (s === '') return '';
	if (s.length > 63) return 'At most 63 characters.';
	if (/[^a-z0-9-]/.test(s)) return 'Only lowercase a-z, 0-9 and "-".';
	if (s.startsWith('-') || s.endsWith('-')) return 'Cannot start or end with "-".';
	if (/^[0-9]+$/.test(s)) return 'Cannot be all digits (that reads as an id).';
	return '';
}

/** scriptNameProblem returns what is wrong with a script name, or ''. */
export function scriptNameProblem(s) {
	if (s === '') return '';
	if (s.length > 64) return 'At most 64 characters.';
	if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(s)) return 'Letters, digits, "_", "." and "-", starting with a letter or digit.';
	return '';
}

/** domainProblem returns what is wrong with a domain claim pattern, or ''. */
export function domainProblem(s) {
	if (s === '') return '';
	if (/[/:?#\s]/.test(s)) return 'A host name only: no scheme, port, path or spaces.';
	if (s.includes('*') && !s.startsWith('*.')) return 'A wildcard is "*." in front, e.g. *.example.com.';
	if (s.split('.').length < 2) return 'Needs at least two labels, e.g. example.com.';
	if (/\{[^}]*$|^[^{]*\}/.test(s)) return 'Unbalanced { }.';
	return '';
}

/** routePathProblem returns what is wrong with a route path, or ''. */
export function routePathProblem(s) {
	if (s === '') return '';
	if (!s.startsWith('/')) return 'Starts with "/".';
	if (/[{}]/.test(s)) return 'Route parameters are written :name, not {name}.';
	for (const p of ['/api/', '/admin/', '/healthz', '/version', '/metrics'])
		if (s === p.replace(/\/$/, '') || s.startsWith(p)) return `${p} is reserved.`;
	return '';
}

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
