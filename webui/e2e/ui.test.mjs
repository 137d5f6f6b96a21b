// The dashboard end to end: the real binary, Debian's chromium driven by
// playwright-core, and a self-hoster's first session: set up the first
// admin, log in, create an app, write a script with a compile error, fix
// it, bind a route, invoke it, find the invocation, roll back. Screenshots
// of the main pages go to docs/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import http from 'node:http';
import { chromium } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import { buildBinary, startServer } from './server.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = resolve(here, '..', '..', 'docs', 'screenshots');
const PASSWORD = 'a long ui e2e password';

let work, server, context, page;
// What the browser refused in the dashboard under its Content-Security-Policy.
const cspViolations = [];

before(async () => {
	work = mkdtempSync(join(tmpdir(), 'picloud-ui-'));
	server = await startServer(buildBinary(work));
	context = await chromium.launchPersistentContext(join(work, 'profile'), {
		executablePath: CHROMIUM,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync'],
		viewport: { width: 1280, height: 860 },
		colorScheme: 'light',
		reducedMotion: 'reduce'
	});
	context.setDefaultTimeout(15_000);
	page = context.pages()[0] ?? (await context.newPage());
	page.on('pageerror', (e) => console.error('page error:', e.message));
	page.on('console', (m) => {
		if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
	});
	mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
	await context?.close();
	await server?.stop();
	if (work) rmSync(work, { recursive: true, force: true });
});

/** nav finds a link of the main navigation. */
const nav = (name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`), animations: 'disabled' });

/** replaceSource puts text into the CodeMirror editor, as typed. */
async function replaceSource(text) {
	await page.locator('.cm-content').first().click();
	await page.keyboard.press('ControlOrMeta+a');
	await page.keyboard.press('Delete');
	await page.keyboard.insertText(text);
}

/**
 * api calls the admin API from the dashboard's page, with its session, as
 * the dashboard does, and checks the status; it answers the parsed body.
 */
async function api(method, path, body, status) {
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

/** get sends a request to the server with a Host header (fetch cannot). */
function get(path, host) {
	return new Promise((resolveGet, reject) => {
		const req = http.get(server.base + path, { headers: { Host: host } }, (res) => {
			let body = '';
			res.on('data', (c) => (body += c));
			res.on('end', () => resolveGet({ status: res.statusCode, body }));
		});
		req.on('error', reject);
	});
}

// pwnPage is a hostile script page. It tries, with the admin's cookies,
// to read the admin API, to create an admin user by fetch (CORS
// and no-cors) and by a form post, and with ?toss tosses its own session
// cookie; it writes what each attempt got into #out.
const pwnPage = String.raw`<!doctype html><meta charset="utf-8"><title>hostile</title><pre id="out"></pre>
<script>
(async () => {
	const admin = location.protocol + '//admin.localhost:' + location.port;
	const who = 'evil' + location.hostname.replace(/[^a-z0-9]/g, '');
	const body = (n) => JSON.stringify({ username: who + n, password: 'a long enough password' });
	const results = {};
	async function attempt(name, url, init) {
		try {
			const r = await fetch(url, Object.assign({ credentials: 'include' }, init));
			results[name] = r.type === 'opaque' ? 'opaque' : r.status + ' ' + (await r.text()).slice(0, 300);
		} catch (e) {
			results[name] = 'refused: ' + e.message;
		}
	}
	for (const base of ['', admin]) {
		await attempt(base + ' me', base + '/api/v1/admin/auth/me', {});
		await attempt(base + ' users', base + '/api/v1/admin/users', {});
		await attempt(base + ' create', base + '/api/v1/admin/users', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body(1) });
		await attempt(base + ' create no-cors', base + '/api/v1/admin/users', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: body(2) });
	}
	// A form post whose text/plain body is the JSON of a new user.
	const sink = document.createElement('iframe');
	sink.name = 'sink';
	document.body.append(sink);
	const form = document.createElement('form');
	form.method = 'POST';
	form.enctype = 'text/plain';
	form.target = 'sink';
	form.action = admin + '/api/v1/admin/users';
	const field = document.createElement('input');
	field.type = 'hidden';
	field.name = '{"username":"' + who + '3","password":"a long enough password';
	field.value = 'x"}';
	form.append(field);
	document.body.append(form);
	await new Promise((done) => {
		sink.onload = done;
		setTimeout(done, 5000); // a refused frame may never load
		form.submit();
	});
	if (location.search.includes('toss')) {
		document.cookie = 'picloud_session=tossed-by-js; domain=localhost; path=/; max-age=31536000';
		document.cookie = 'picloud_session=tossed-by-js; path=/api/v1/admin; max-age=31536000';
	}
	document.getElementById('out').textContent = JSON.stringify(results);
	document.body.dataset.done = '1';
})();
</script>`;

// pwnScript serves pwnPage, and with ?toss tries to set the session
// cookie for the whole site and for the admin API's path.
const pwnScript = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	r := picloud.HTML(200, page)
	if req.QueryParam("toss") != "" {
		r.Headers["Set-Cookie"] = "picloud_session=tossed-by-a-script; Domain=localhost; Path=/; Max-Age=31536000"
		r.Headers["set-cookie"] = "picloud_session=tossed-by-a-script; Path=/api/v1/admin; Max-Age=31536000"
	}
	return r
}

const page = \`${pwnPage}\`
`;

const broken = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.JSON(200, undefinedThing)
}
`;

const greet = (word) => `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	name := req.Params["name"]
	if name == "" {
		name = req.QueryParam("name")
	}
	picloud.Log("greeting", name)
	return picloud.JSON(200, map[string]any{"greeting": "${word} " + name})
}
`;

test('a first session in the dashboard', { timeout: 600_000 }, async (tc) => {
	// Steps run in order and each needs the ones before: after a failure
	// the rest are skipped rather than failing on its leftovers.
	let failed = false;
	const t = {
		test: (name, fn) =>
			tc.test(name, { skip: failed }, async () => {
				try {
					await fn();
				} catch (e) {
					failed = true;
					await shot('failure-' + name.replace(/\W+/g, '-')).catch(() => {});
					throw e;
				}
			})
	};
	await t.test('first run: the setup link creates the first admin', async () => {
		await page.goto(`${server.admin}/admin/setup?token=${server.setupToken}`);
		await page.getByLabel('Username', { exact: true }).fill('admin');
		await page.getByLabel('Password', { exact: true }).fill('short');
		await page.getByText('At least 12 characters.').waitFor();
		assert.ok(await page.getByRole('button', { name: 'Create admin and log in' }).isDisabled(), 'a short password cannot be sent');
		await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
		await page.getByLabel('Repeat the password', { exact: true }).fill(PASSWORD);
		await shot('setup');
		await page.getByRole('button', { name: 'Create admin and log in' }).click();
		await page.getByRole('heading', { name: 'Apps', exact: true }).waitFor();
	});

	await t.test('log out and log in again', async () => {
		await page.getByRole('button', { name: 'Log out' }).click();
		await page.getByRole('heading', { name: 'Log in to PiCloud' }).waitFor();
		await page.getByLabel('Username', { exact: true }).fill('admin');
		await page.getByLabel('Password', { exact: true }).fill('wrong password!');
		await page.getByRole('button', { name: 'Log in' }).click();
		await page.getByText('invalid username or password').waitFor();
		await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
		await shot('login');
		await page.getByRole('button', { name: 'Log in' }).click();
		await page.getByRole('heading', { name: 'Apps', exact: true }).waitFor();
		// The fresh install's Hello World app is listed.
		await page.getByRole('link', { name: /hello/i }).first().waitFor();
	});

	await t.test('create an app, with inline validation and a domain claim', async () => {
		await page.getByLabel('Slug', { exact: true }).fill('Shop!');
		await page.getByText('Only lowercase a-z, 0-9 and "-".').waitFor();
		await page.getByLabel('Slug', { exact: true }).fill('shop');
		await page.getByLabel('Name (optional)', { exact: true }).fill('Shop');
		await shot('apps');
		await page.getByRole('button', { name: 'Create app' }).click();
		await page.waitForURL('**/admin/apps/shop');
		await page.getByRole('heading', { name: /^Shop/ }).waitFor();

		await page.getByLabel('Domain', { exact: true }).fill('api.example.com:8080');
		await page.getByText('A host name only').waitFor();
		await page.getByLabel('Domain', { exact: true }).fill('api.example.com');
		await page.getByRole('button', { name: 'Claim' }).click();
		await page.getByRole('listitem').filter({ hasText: 'api.example.com' }).waitFor();
	});

	let scriptURL, requestId;
	await t.test("another app's claim collides, with the server's message", async () => {
		await nav('Apps').click();
		await page.getByRole('link', { name: /hello/i }).first().click();
		await page.getByLabel('Domain', { exact: true }).fill('API.example.com');
		await page.getByRole('button', { name: 'Claim' }).click();
		const msg = page.locator('#domain-msg');
		await msg.filter({ hasText: 'Taken:' }).waitFor();
		assert.match(await msg.textContent(), /shop/, 'the message names the app that holds the claim');
		await nav('Apps').click();
		await page.getByRole('link', { name: 'Shop' }).click();
		await page.waitForURL('**/admin/apps/shop');
	});

	await t.test('write a script with a compile error: shown at its line', async () => {
		await page.getByRole('link', { name: 'New script' }).click();
		await page.getByLabel('Script name', { exact: true }).fill('greet');
		await page.locator('.cm-content').waitFor();
		await replaceSource(broken);
		await page.keyboard.press('ControlOrMeta+s'); // saves from inside the editor
		await page.locator('[data-error-line="6"]').waitFor();
		assert.equal(await page.locator('[data-error-line]').count(), 1, 'one line is marked');
		assert.equal(await page.getByTestId('save-error').getAttribute('data-line'), '6');
		assert.match(await page.locator('.compile').textContent(), /Line 6, column \d+:\s*undefined: undefinedThing/);
		await page.locator('.cm-lint-marker-error').first().waitFor();
		await shot('editor-compile-error');
	});

	await t.test('fix it: save makes version 1', async () => {
		await replaceSource(greet('hello'));
		assert.equal(await page.locator('[data-error-line]').count(), 0, 'an edit clears the mark');
		await page.getByRole('button', { name: 'Create' }).click();
		await page.waitForURL(/\/admin\/apps\/shop\/scripts\/\d+$/);
		scriptURL = page.url();
		await page.getByTestId('live-version').filter({ hasText: 'live v1' }).waitFor();
		await replaceSource(greet('hi'));
		await page.getByText('Unsaved changes').waitFor();
		await page.keyboard.press('ControlOrMeta+s');
		await page.getByText('Saved as version 2; it is live.').waitFor();
		await page.getByTestId('live-version').filter({ hasText: 'live v2' }).waitFor();
	});

	await t.test('bind a route and ask the router about it', async () => {
		await page.getByRole('tab', { name: 'Routes' }).click();
		await page.getByLabel('Path', { exact: true }).fill('/api/x');
		await page.getByText('/api/ is reserved.').waitFor();
		await page.getByLabel('Path', { exact: true }).fill('/tmp');
		await page.getByRole('button', { name: 'Bind route' }).click();
		await page.getByRole('button', { name: 'Unbind GET /tmp' }).click();
		await page.locator('code', { hasText: 'GET /tmp' }).waitFor({ state: 'detached' });
		await page.getByLabel('Path', { exact: true }).fill('/greet/:name');
		await page.getByRole('button', { name: 'Bind route' }).click();
		await page.locator('code', { hasText: 'GET /greet/:name' }).waitFor();
		await page.getByRole('button', { name: 'Bind route' }).click();
		await page.locator('#route-msg').filter({ hasText: 'conflicts with' }).waitFor();
		const res = await get('/greet/bob', 'shop.localhost');
		assert.equal(res.status, 200, res.body);
		assert.match(res.body, /"greeting":"hi bob"/);

		await page.getByRole('link', { name: 'shop', exact: true }).click();
		await page.getByRole('heading', { name: 'Check and match' }).waitFor();
		const port = new URL(server.base).port;
		await page.getByRole('link', { name: `http://shop.localhost:${port}/` }).waitFor();
		await page.getByLabel('Path', { exact: true }).fill('/greet/carol');
		await page.getByRole('button', { name: 'Match request' }).click();
		await page.getByText('"name":"carol"').waitFor();
		await page.getByRole('button', { name: 'Check route' }).click();
		await page.getByText('conflicts with:').waitFor({ state: 'detached' }).catch(() => {});
		await page.getByLabel('Path', { exact: true }).fill('/greet/:who');
		await page.getByRole('button', { name: 'Check route' }).click();
		await page.getByText('conflicts with:').waitFor();
		await shot('app');
	});

	await t.test('invoke it from the console: status, body and log', async () => {
		await page.goto(scriptURL);
		await page.getByRole('tab', { name: 'Invoke' }).click();
		await page.getByLabel('Path and query', { exact: true }).fill('/?name=alice');
		await page.getByLabel(/^Headers/).fill('X-Test: yes');
		await page.getByRole('button', { name: 'Send' }).click();
		await page.getByTestId('invoke-status').filter({ hasText: '200' }).waitFor();
		assert.match(await page.getByTestId('invoke-body').textContent(), /"greeting": "hi alice"/);
		await page.getByTestId('invoke-log').filter({ hasText: 'greeting alice' }).waitFor();
		requestId = await page.getByTestId('invoke-request-id').textContent();
	});

	await t.test("the console offers the script's routes and fills their parameters", async () => {
		await page.getByLabel('Route', { exact: true }).selectOption({ label: 'GET /greet/:name' });
		const path = page.getByLabel('Path and query', { exact: true });
		assert.equal(await path.inputValue(), '/greet/:name', 'an unfilled parameter shows as :name');
		await page.getByText('Fill :name: the script reads it from req.Params.').waitFor();
		await page.getByLabel(':name', { exact: true }).fill('zoe');
		assert.equal(await path.inputValue(), '/greet/zoe');
		assert.equal(await page.getByLabel('Method', { exact: true }).inputValue(), 'GET');
		await page.getByLabel(/^Headers/).fill('');
		await page.getByRole('button', { name: 'Send' }).click();
		await page.getByTestId('invoke-body').filter({ hasText: '"greeting": "hi zoe"' }).waitFor();
		await shot('invoke');
	});

	await t.test('a script page can neither act as the admin nor touch the session', async () => {
		// The same hostile page from four places: the admin host (where the
		// default app used to answer), the admin host again through execute
		// opened as a page, an app's own host (same site as the admin host)
		// and the listen address. First each tries to read and act with the
		// admin's session; then each tries to toss a session cookie of its
		// own. Every breach is collected, so a failure lists them all.
		const hello = await api('POST', '/apps/hello/scripts', { name: 'pwn', source: pwnScript }, 201);
		await api('POST', `/scripts/${hello.id}/routes`, { method: 'GET', path: '/pwn' }, 201);
		const shop = await api('POST', '/apps/shop/scripts', { name: 'pwn', source: pwnScript }, 201);
		await api('POST', `/scripts/${shop.id}/routes`, { method: 'GET', path: '/pwn' }, 201);
		const port = new URL(server.base).port;
		const pages = [
			`http://admin.localhost:${port}/pwn`,
			`http://admin.localhost:${port}/api/v1/execute/${hello.id}`,
			`http://shop.localhost:${port}/pwn`,
			`http://127.0.0.1:${port}/pwn`
		];
		const attacker = await context.newPage();
		const breaches = [];
		const ran = new Set();
		const visit = async (query) => {
			for (const url of pages) {
				const res = await attacker.goto(url + query);
				if (!(res.headers()['content-type'] || '').startsWith('text/html')) continue;
				await attacker.locator('body[data-done]').waitFor();
				const results = JSON.parse(await attacker.locator('#out').textContent());
				if (process.env.PICLOUD_UI_DEBUG) console.log(url + query, results);
				ran.add(url);
				for (const [what, got] of Object.entries(results)) {
					if (/"username":"admin"|"user":/.test(got)) breaches.push(`${url}: ${what} read an admin answer: ${got.slice(0, 80)}`);
					else if (/^20\d/.test(got)) breaches.push(`${url}: ${what} succeeded: ${got.slice(0, 80)}`);
				}
			}
		};
		await visit('');
		const users = await api('GET', '/users', undefined, 200);
		const names = (users.items ?? users).map((u) => u.username);
		if (names.join() !== 'admin') breaches.push(`admin users were made: ${names}`);
		await visit('?toss=1');
		await attacker.close();
		const me = await api('GET', '/auth/me');
		if (me?.user?.username !== 'admin') breaches.push(`the dashboard lost its session: ${JSON.stringify(me)}`);
		assert.deepEqual(breaches, []);
		assert.ok(ran.has(pages[2]), `the script page on the app host ran: ${[...ran]}`);
		assert.ok(!ran.has(pages[0]) && !ran.has(pages[1]), `no script page is served on the admin host: ${[...ran]}`);

		// The dashboard still works on the admin's own, strongest-form cookie.
		await page.reload();
		await page.getByTestId('live-version').waitFor();
		const sent = await context.cookies(server.admin);
		assert.deepEqual(
			sent.map((c) => [c.name, c.path, c.httpOnly, c.sameSite]),
			[['picloud_session', '/', true, 'Strict']]
		);
		for (const id of [hello.id, shop.id]) await api('DELETE', `/scripts/${id}`, undefined, 204);
	});

	await t.test('errors of a failing script are counted on the app page', async () => {
		// A second script that always fails, set up through the API with the
		// browser's own session.
		const boom = 'package main\n\nimport "picloud"\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\tpanic("boom")\n}\n';
		const { id } = await api('POST', '/apps/shop/scripts', { name: 'boom', source: boom }, 201);
		await api('POST', `/scripts/${id}/routes`, { method: 'GET', path: '/boom' }, 201);
		for (let i = 0; i < 3; i++) assert.equal((await get('/boom', 'shop.localhost')).status, 500);
		await page.goto(`${server.admin}/admin/apps/shop`);
		const row = page.locator('tr[data-script="boom"]');
		await row.waitFor();
		// Invocation logs are written in batches: reload until they are in.
		for (let i = 0; i < 20 && (await row.locator('td').nth(4).textContent()) !== '3'; i++) {
			await page.waitForTimeout(250);
			await page.reload();
			await row.waitFor();
		}
		// Requests, errors, error rate; and the status is no "ok": every
		// recent call failed.
		const cells = await row.locator('td').allTextContents();
		assert.deepEqual([cells[1], cells[3], cells[4], cells[5]], ['1', '3', '3', '100%'], `routes, requests, errors, rate: ${cells}`);
		assert.equal(await row.getByTestId('health').textContent(), 'failing');
		assert.equal(await page.locator('tr[data-script="greet"]').getByTestId('health').textContent(), 'ok');
		// The script's own page says so too.
		await row.getByRole('link', { name: 'boom' }).click();
		await page.getByTestId('health').filter({ hasText: 'failing' }).waitFor();
		await page.getByText('Every one of its last 3 calls failed').waitFor();
	});

	await t.test('see the invocation in the live list, with its log and the chart', async () => {
		await nav('Invocations').click();
		const row = page.locator(`tr[data-request-id="${requestId}"]`);
		await row.waitFor();
		// One chart, with a script selector; requests that matched no route are named so.
		assert.equal((await get('/no-such-route', 'shop.localhost')).status, 404);
		await page.getByText('streaming').waitFor();
		// A new request shows up without a reload (the stream).
		await get('/greet/dave', 'shop.localhost');
		await page.locator('tr', { hasText: 'GET /greet/dave' }).waitFor();
		await page.locator('tr', { hasText: 'GET /no-such-route' }).getByText('no route matched').waitFor();
		assert.equal(await page.locator('figure').count(), 1, 'one chart');
		const chart = page.getByLabel('Chart of');
		await page.waitForFunction(() => [...document.querySelectorAll('#chart-script option')].some((o) => o.textContent.startsWith('boom:')));
		const options = await chart.locator('option').allTextContents();
		assert.ok(options.some((o) => o.startsWith('no route matched:')), `unmatched requests in the selector: ${options}`);
		assert.ok(!options.some((o) => o.includes('script 0')), `no "script 0": ${options}`);
		await chart.selectOption({ label: options.find((o) => o.startsWith('boom:')) });
		await page.locator('figcaption', { hasText: 'boom' }).filter({ hasText: '3 errors' }).waitFor();
		await chart.selectOption('');
		await row.getByRole('button', { name: 'Log' }).click();
		await page.locator('pre', { hasText: 'greeting alice' }).waitFor();
		await page.getByLabel('Status', { exact: true }).fill('500');
		await page.locator('tr', { hasText: 'GET /greet/dave' }).waitFor({ state: 'detached' });
		assert.equal(await page.locator('tbody tr', { hasText: 'GET /boom' }).count(), 3);
		await page.getByLabel('Status', { exact: true }).fill('418');
		await page.getByText('No invocations match.').waitFor();
		await page.getByLabel('Status', { exact: true }).fill('');
		await page.locator('tr', { hasText: 'GET /greet/dave' }).waitFor();
		await shot('invocations');
	});

	await t.test('the invocation log pages, older and newer', async () => {
		// One after another: the list is by time and pages by id, which agree then.
		for (let i = 0; i < 55; i++) await get(`/paged/${i}`, 'shop.localhost');
		await page.getByLabel('Status', { exact: true }).fill('404');
		await page.locator('tr', { hasText: 'GET /paged/' }).nth(49).waitFor();
		assert.equal(await page.locator('tbody tr[data-request-id]').count(), 50, 'a page holds 50');
		const first = await page.locator('tbody tr[data-request-id]').first().getAttribute('data-request-id');
		await page.getByRole('button', { name: 'Older →' }).click();
		await page.getByText('Page 2').waitFor();
		await page.locator(`tr[data-request-id="${first}"]`).waitFor({ state: 'detached' });
		await page.locator('tbody tr[data-request-id]').nth(4).waitFor();
		await page.getByRole('button', { name: '← Newer' }).click();
		await page.locator(`tr[data-request-id="${first}"]`).waitFor();
		await page.getByLabel('Status', { exact: true }).fill('');
	});

	await t.test('the apps list counts scripts, routes, domains and the last hour', async () => {
		await page.goto(`${server.admin}/admin/`);
		const row = page.locator('tbody tr', { hasText: 'Shop' });
		await row.waitFor();
		const cells = await row.locator('td').allTextContents();
		assert.deepEqual(cells.slice(1, 4), ['2', '2', '1'], `scripts, routes, domains: ${cells}`);
		assert.ok(Number(cells[4]) >= 60 && Number(cells[5]) >= 3, `requests and errors: ${cells}`);
		await page.getByRole('button', { name: 'Requests (1 h)' }).click();
		await page.locator('th[aria-sort="descending"]', { hasText: 'Requests' }).waitFor();
		assert.match(await page.locator('tbody tr').first().textContent(), /Shop/, 'the busiest app first');
	});

	await t.test('versions: diff, then roll back with one click', async () => {
		await page.goto(scriptURL);
		await page.getByRole('tab', { name: 'Versions' }).click();
		await page.getByRole('button', { name: 'Diff with live' }).click();
		await page.getByRole('heading', { name: 'v1 → live v2' }).waitFor();
		await page.locator('.cm-deletedChunk, .cm-changedLine').first().waitFor();
		await shot('versions');
		await page.getByRole('button', { name: 'Roll back to v1' }).click();
		await page.getByTestId('live-version').filter({ hasText: 'live v1' }).waitFor();
		const res = await get('/greet/erin', 'shop.localhost');
		assert.match(res.body, /"greeting":"hello erin"/);
		// v2 is newer than the live v1 now: going there is no "roll back".
		await page.getByRole('button', { name: 'Roll forward to v2' }).waitFor();
		assert.equal(await page.getByRole('button', { name: /^Roll back/ }).count(), 0);
	});

	await t.test('an expired session asks for the password again and keeps the edit', async () => {
		await replaceSource(greet('hey'));
		await context.clearCookies(); // the session is gone, as after expiry
		await page.keyboard.press('ControlOrMeta+s');
		const dialog = page.getByRole('dialog', { name: 'Your session has expired' });
		await dialog.waitFor();
		await dialog.getByLabel('Password', { exact: true }).fill(PASSWORD);
		await dialog.getByRole('button', { name: 'Log in' }).click();
		await page.getByText('Saved as version 3; it is live.').waitFor();
		const res = await get('/greet/finn', 'shop.localhost');
		assert.match(res.body, /"greeting":"hey finn"/);
	});

	await t.test('a save can say what it changes: the message shows with its version', async () => {
		await replaceSource(greet('howdy'));
		await page.getByLabel('Version message (optional)').fill('say howdy');
		await page.getByRole('button', { name: 'Save', exact: true }).click();
		await page.getByText('Saved as version 4; it is live.').waitFor();
		assert.equal(await page.getByLabel('Version message (optional)').inputValue(), '', 'the message went with v4');
		await page.getByRole('tab', { name: 'Versions' }).click();
		const v4 = page.locator('tbody tr', { hasText: 'v4' });
		assert.equal(await v4.getByTestId('version-message').textContent(), 'say howdy');
		const versions = await api('GET', `/scripts/${scriptURL.split('/').pop()}/versions`, undefined, 200);
		assert.deepEqual(versions.items.map((v) => [v.version, v.message]), [[4, 'say howdy'], [3, ''], [2, ''], [1, '']]);
		// Older versions are rolled back to.
		for (const v of [1, 2, 3]) await page.getByRole('button', { name: `Roll back to v${v}` }).waitFor();
	});

	await t.test('a script that keeps crashing is parked, and a change unparks it', async () => {
		// boom already crashed 3 times; a few more within the server's crash
		// window (more than executor.crash_limit, 5 by default) park it.
		const listed = await api('GET', '/apps/shop/scripts', undefined, 200);
		const boom = (listed.items ?? listed).find((s) => s.name === 'boom');
		assert.ok(boom, 'boom is listed');
		let last;
		for (let i = 0; i < 10; i++) {
			last = await get('/boom', 'shop.localhost');
			if (last.status === 503) break;
			assert.equal(last.status, 500, last.body);
		}
		assert.equal(last.status, 503, last.body);
		assert.match(last.body, /"code":"script_parked"/);
		await page.goto(`${server.admin}/admin/apps/shop`);
		await page.locator('tr[data-script="boom"]').getByTestId('health').filter({ hasText: 'parked' }).waitFor();
		assert.equal(await page.locator('tr[data-script="greet"]').getByTestId('health').textContent(), 'ok');
		await page.goto(`${server.admin}/admin/apps/shop/scripts/${boom.id}`);
		await page.getByText('This script kept crashing and is parked').waitFor();
		// The server says which node parked it (every node holds it).
		await page.getByText(/parked by node \S+, on every node/).waitFor();
		// A new version is a fresh start.
		const fixed = 'package main\n\nimport "picloud"\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\treturn picloud.Text(200, "fixed")\n}\n';
		await api('PUT', `/scripts/${boom.id}`, { source: fixed }, 200);
		assert.equal((await get('/boom', 'shop.localhost')).body, 'fixed');
		await page.reload();
		await page.getByTestId('live-version').waitFor();
		assert.equal(await page.getByText('This script kept crashing and is parked').count(), 0);
		assert.equal(await page.locator('.badge', { hasText: 'parked' }).count(), 0);
	});

	await t.test('opening a page without a session goes to the login and back', async () => {
		await context.clearCookies();
		await page.goto(`${server.admin}/admin/invocations?status=200`);
		await page.getByRole('heading', { name: 'Log in to PiCloud' }).waitFor();
		assert.match(page.url(), /\/admin\/login\?next=/);
		await page.getByLabel('Username', { exact: true }).fill('admin');
		await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
		await page.getByRole('button', { name: 'Log in' }).click();
		await page.waitForURL('**/admin/invocations?status=200');
		await page.getByRole('heading', { name: 'Invocations' }).waitFor();
		assert.equal(await page.getByLabel('Status', { exact: true }).inputValue(), '200');
	});

	await t.test('keyboard: Tab indents in the editor, Esc then Tab leaves it', async () => {
		await page.goto(scriptURL);
		await page.getByTestId('live-version').waitFor();
		await page.locator('.cm-content').first().click();
		await page.keyboard.press('Tab');
		assert.ok(await page.evaluate(() => document.activeElement?.classList.contains('cm-content')), 'Tab stays in the editor');
		await page.keyboard.press('ControlOrMeta+z');
		await page.keyboard.press('Escape');
		await page.keyboard.press('Tab');
		assert.ok(await page.evaluate(() => !document.activeElement?.classList.contains('cm-content')), 'Esc, Tab leaves the editor');
	});

	await t.test('on a phone the page fits the screen', async () => {
		await page.setViewportSize({ width: 390, height: 844 });
		await page.goto(scriptURL);
		await page.getByTestId('live-version').waitFor();
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
		assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
		await shot('phone');
		await page.setViewportSize({ width: 1280, height: 860 });
	});

	await t.test('the dashboard ran under its Content-Security-Policy without a violation', async () => {
		const res = await page.goto(`${server.admin}/admin/`);
		const csp = res.headers()['content-security-policy'] || '';
		assert.match(csp, /script-src 'self' 'sha256-[^']+'/);
		assert.match(csp, /frame-ancestors 'none'/);
		assert.doesNotMatch(csp.match(/script-src[^;]*/)[0], /unsafe/);
		await page.getByRole('heading', { name: 'Apps', exact: true }).waitFor();
		assert.deepEqual(cspViolations, []);
	});

	await t.test('dark mode follows the system', async () => {
		await page.emulateMedia({ colorScheme: 'dark' });
		const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
		assert.equal(bg, 'rgb(19, 20, 23)');
		await shot('editor-dark');
		await page.emulateMedia({ colorScheme: 'light' });
	});

	await t.test('rename, change the slug, then delete with a confirmation naming what goes', async () => {
		await page.goto(`${server.admin}/admin/apps/shop`);
		await page.getByLabel('Name', { exact: true }).fill('Shop renamed');
		await page.getByRole('button', { name: 'Rename' }).click();
		await page.getByRole('heading', { name: /^Shop renamed/ }).waitFor();
		await page.getByLabel('Slug', { exact: true }).fill('Store');
		await page.getByText('Only lowercase a-z, 0-9 and "-".').waitFor();
		await page.getByLabel('Slug', { exact: true }).fill('store');
		await page.getByRole('button', { name: 'Change slug' }).click();
		await page.waitForURL('**/admin/apps/store');
		await page.getByText('the old one redirects to store').waitFor();

		await page.getByLabel('Time budget (ms)').fill('999999999');
		await page.getByRole('button', { name: 'Save limits' }).click();
		await page.getByText('settings.timeout_ms: must be between 1 and 600000 milliseconds').waitFor();
		await page.getByLabel('Time budget (ms)').fill('2000');
		await page.getByLabel('Error details for public callers').selectOption('true');
		await page.getByRole('button', { name: 'Save limits' }).click();
		await page.getByText('Limits saved').waitFor();
		// The app's setting shows a failing script's details to anonymous callers.
		const scripts = await api('GET', '/apps/store/scripts', undefined, 200);
		const boomID = (scripts.items ?? scripts).find((s) => s.name === 'boom').id;
		await api('PUT', `/scripts/${boomID}`, { source: 'package main\n\nimport "picloud"\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\tpanic("detail-for-dev")\n}\n' }, 200);
		const boom = await get('/boom', 'store.localhost');
		assert.equal(boom.status, 500);
		assert.match(boom.body, /detail-for-dev/, `public details shown: ${boom.body}`);
		await page.reload();
		assert.equal(await page.getByLabel('Error details for public callers').inputValue(), 'true');

		await page.getByRole('button', { name: 'Delete app…' }).click();
		const dialog = page.getByRole('dialog', { name: 'Delete app Shop renamed?' });
		await dialog.waitFor();
		const text = await dialog.textContent();
		for (const what of ['2 scripts: boom, greet', '2 routes', '1 domain claim: api.example.com']) assert.ok(text.includes(what), `the dialog names ${what}: ${text}`);
		const confirm = dialog.getByRole('button', { name: 'Delete app' });
		assert.ok(await confirm.isDisabled(), 'disabled until the slug is typed');
		await dialog.getByLabel(/^Type/).fill('store');
		await confirm.click();
		await page.getByRole('heading', { name: 'Apps', exact: true }).waitFor();
		await page.getByRole('link', { name: 'Hello World' }).waitFor();
		assert.equal(await page.getByRole('link', { name: 'Shop renamed' }).count(), 0);
		assert.equal((await get('/greet/x', 'store.localhost')).status, 404);
	});

	await t.test('an app with 100 scripts: one sortable, filtered, paged table and one chart', async () => {
		// Seeded through the API: svc-000 to svc-099, each on GET /svc-NNN/:id;
		// every tenth (svc-003, svc-013, ...) always fails.
		await api('POST', '/apps', { slug: 'fleet', name: 'Fleet' }, 201);
		const source = (i) => `package main\n\nimport "picloud"\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\tif ${i % 10 === 3} {\n\t\tpanic("down")\n\t}\n\treturn picloud.Text(200, "svc ${i} " + req.Params["id"])\n}\n`;
		const name = (i) => `svc-${String(i).padStart(3, '0')}`;
		for (let i = 0; i < 100; i += 5) {
			await Promise.all([0, 1, 2, 3, 4].map(async (k) => {
				const s = await api('POST', '/apps/fleet/scripts', { name: name(i + k), source: source(i + k), message: 'seeded' }, 201);
				await api('POST', `/scripts/${s.id}/routes`, { method: 'GET', path: `/${name(i + k)}/:id` }, 201);
			}));
		}
		// Traffic for the first 40: svc-NNN gets NNN % 4 + 1 calls; and two
		// requests that match no route.
		let calls = 0;
		for (let i = 0; i < 40; i++) {
			for (let n = 0; n <= i % 4; n++, calls++) {
				const res = await get(`/${name(i)}/${n}`, 'fleet.localhost');
				assert.equal(res.status, i % 10 === 3 ? 500 : 200, res.body);
			}
		}
		for (const p of ['/nowhere', '/nowhere/else']) assert.equal((await get(p, 'fleet.localhost')).status, 404);
		await page.goto(`${server.admin}/admin/apps/fleet`);
		// Invocation logs are written in batches: reload until they are in.
		const total = () => page.locator('figcaption').textContent();
		for (let i = 0; i < 40 && !(await total()).includes(`${calls + 2} requests`); i++) {
			await page.waitForTimeout(250);
			await page.reload();
			await page.locator('figcaption').waitFor();
		}
		assert.match(await total(), new RegExp(`All scripts: ${calls + 2} requests`));
		assert.equal(await page.locator('figure').count(), 1, 'one chart for 100 scripts');

		const rows = page.locator('table[aria-label="Scripts"] tbody tr');
		assert.equal(await rows.count(), 25, 'a page of 25');
		await page.getByText('Page 1 of 4').waitFor();
		await page.getByText('100 scripts, figures of the last hour').waitFor();
		const unmatched = page.locator('tr[data-script="no route matched"]');
		assert.equal((await unmatched.locator('td').allTextContents())[3], '2');
		assert.equal(await page.getByText('script 0').count(), 0);

		// Sorted by errors, the failing scripts come first.
		await page.getByRole('button', { name: 'Errors', exact: true }).click();
		await page.locator('th[aria-sort="descending"]', { hasText: 'Errors' }).waitFor();
		// svc-003 and svc-023 failed 4 times, svc-013 and svc-033 twice;
		// ties go by name.
		const top = await rows.evaluateAll((trs) => trs.slice(0, 5).map((tr) => tr.dataset.script));
		assert.deepEqual(top, ['svc-003', 'svc-023', 'svc-013', 'svc-033', 'svc-000'], 'by errors, most first');
		assert.deepEqual(await rows.evaluateAll((trs) => trs.slice(0, 4).map((tr) => tr.querySelector('[data-testid="health"]').textContent)),
			['failing', 'failing', 'failing', 'failing']);

		// Paging and the filter.
		await page.getByRole('button', { name: 'Next →' }).click();
		await page.getByText('Page 2 of 4').waitFor();
		await page.getByLabel('Filter scripts').fill('svc-09');
		await page.getByText('10 of 100 scripts').waitFor();
		assert.equal(await rows.count(), 10);
		assert.equal(await page.getByText(/Page \d of/).count(), 0, 'one page needs no pager');
		await page.getByLabel('Filter scripts').fill('');

		// The chart's selector shows one script at a time.
		const chart = page.getByLabel('Chart of');
		const options = await chart.locator('option').allTextContents();
		assert.ok(options.some((o) => o.startsWith('no route matched: 2 requests')), `${options}`);
		await chart.selectOption({ label: options.find((o) => o.startsWith('svc-013:')) });
		await page.locator('figcaption', { hasText: 'svc-013' }).filter({ hasText: '2 errors' }).waitFor();
		await chart.selectOption('');

		// By requests, the busiest first: the screenshot of the overview.
		await page.getByRole('button', { name: 'Requests', exact: true }).click();
		await page.locator('th[aria-sort="descending"]', { hasText: 'Requests' }).waitFor();
		assert.equal(await rows.first().locator('td').nth(3).textContent(), '4');
		// From the top of the page to the end of the scripts panel.
		await page.evaluate(() => window.scrollTo(0, 0));
		const box = await page.locator('section[aria-labelledby="scripts-h"]').boundingBox();
		await page.screenshot({ path: join(SHOTS, 'app-100-scripts.png'), fullPage: true, animations: 'disabled', clip: { x: 0, y: 0, width: 1280, height: Math.ceil(box.y + box.height + 16) } });
	});
});
