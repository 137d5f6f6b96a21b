// What the UI tests beyond ui.test.mjs share: Debian's chromium driven by
// playwright-core, the first admin made through the setup link, the admin
// API called with the page's own session, and screenshots.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = fileURLToPath(new URL('.', import.meta.url));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SHOTS = resolve(here, '..', '..', 'docs', 'screenshots');
export const PASSWORD = 'a long ui e2e password';

/** launch starts a headless chromium with a profile in dir; it answers its context and first page. */
export async function launch(dir) {
	const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
		executablePath: CHROMIUM,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync'],
		viewport: { width: 1280, height: 860 },
		colorScheme: 'light',
		reducedMotion: 'reduce'
	});
	context.setDefaultTimeout(15_000);
	const page = context.pages()[0] ?? (await context.newPage());
	page.on('pageerror', (e) => console.error('page error:', e.message));
	mkdirSync(SHOTS, { recursive: true });
	return { context, page };
}

/** shot saves a screenshot of page to docs/screenshots/NAME.png. */
export const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), animations: 'disabled' });

/** setupAdmin creates the first admin through the server's setup link and waits for the apps list. */
export async function setupAdmin(page, server) {
	await page.goto(`${server.admin}/admin/setup?token=${server.setupToken}`);
	await page.getByLabel('Username', { exact: true }).fill('admin');
	await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
	await page.getByLabel('Repeat the password', { exact: true }).fill(PASSWORD);
	await page.getByRole('button', { name: 'Create admin and log in' }).click();
	await page.getByRole('heading', { name: 'Apps', exact: true }).waitFor();
}

/**
 * api calls the admin API from the page, with its session, as the
 * dashboard does, and checks the status when given; it answers the body.
 */
export async function api(page, method, path, body, status) {
	const res = await page.evaluate(
		async ([method, path, body]) => {
			const init = { method, credentials: 'same-origin', headers: {} };
			if (body !== undefined) {
				init.headers['Content-Type'] = 'application/json';
				init.body = JSON.stringify(body);
			}
			const r = await fetch('/api/v1/admin' + path, init);
			return { status: r.status, text: await r.text() };
		},
		[method, path, body]
	);
	if (status !== undefined) assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
	return res.text ? JSON.parse(res.text) : null;
}

/** request sends a GET to the server with a Host header (fetch cannot). */
export function request(server, path, host) {
	return new Promise((resolveGet, reject) => {
		const req = http.get(server.base + path, { headers: { Host: host } }, (res) => {
			let body = '';
			res.on('data', (c) => (body += c));
			res.on('end', () => resolveGet({ status: res.statusCode, body }));
		});
		req.on('error', reject);
	});
}

/**
 * steps runs the subtests of tc in order; after a failure the rest are
 * skipped rather than failing on its leftovers, and the page is
 * screenshot as failure-NAME.
 */
export function steps(tc, page) {
	let failed = false;
	return (name, fn) =>
		tc.test(name, { skip: failed }, async () => {
			try {
				await fn();
			} catch (e) {
				failed = true;
				await shot(page, 'failure-' + name.replace(/\W+/g, '-')).catch(() => {});
				throw e;
			}
		});
}
