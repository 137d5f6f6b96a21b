// The admin API client. Requests carry the session cookie; a 401 on a
// page that is already open does not throw the user out: it asks for the
// password again (session.svelte.js) and then retries, so no work is lost.
import { session } from './session.svelte.js';

export const API = '/api/v1/admin';

/** An error answer of the API: {error:{code,message,field,line,column}}. */
export class ApiError extends Error {
	constructor(status, body) {
		const e = (body && body.error) || {};
		super(e.message || `HTTP ${status}`);
		this.status = status;
		this.code = e.code || 'http_' + status;
		this.field = e.field;
		this.line = e.line;
		this.column = e.column;
		this.requestId = e.request_id;
	}
}

async function parse(res) {
	const text = await res.text();
	if (!text) return null;
	try {
		return JSON.parse(text);
	} catch {
		return { error: { message: text.slice(0, 300) } };
	}
}

/**
 * request sends one admin API call. path is relative to /api/v1/admin.
 * Options: body (JSON-encoded), quiet401 (let a 401 through instead of
 * asking to log in again).
 */
export async function request(method, path, { body, quiet401 = false } = {}) {
	for (;;) {
		const res = await fetch(API + path, {
			method,
			credentials: 'same-origin',
			headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body)
		});
		const data = res.status === 204 ? null : await parse(res);
		if (res.ok) return data;
		if (res.status === 401 && !quiet401 && session.user) {
			// The session ran out while the page was open: log in again
			// over the page, then repeat the request.
			await session.reauthenticate();
			continue;
		}
		throw new ApiError(res.status, data);
	}
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, body, opts) => request('POST', path, { ...opts, body });
export const put = (path, body, opts) => request('PUT', path, { ...opts, body });
export const patch = (path, body, opts) => request('PATCH', path, { ...opts, body });
export const del = (path, opts) => request('DELETE', path, opts);

/** items unwraps a list answer {items:[...]}. */
export async function items(path) {
	const data = await get(path);
	return (data && data.items) || [];
}
