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

test('a first session in the dashboard', { timeout: 240_000 }, async (tc) => {
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
		await page.goto(`${server.base}/admin/setup?token=${server.setupToken}`);
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
		await shot('invoke');
	});

	await t.test('errors of a failing script are counted on the app page', async () => {
		// A second script that always fails, set up through the API with the
		// browser's own session (the request context shares its cookies).
		const api = `${server.base}/api/v1/admin`;
		const headers = { Origin: server.base };
		const boom = 'package main\n\nimport "picloud"\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\tpanic("boom")\n}\n';
		let res = await context.request.post(`${api}/apps/shop/scripts`, { data: { name: 'boom', source: boom }, headers });
		assert.equal(res.status(), 201, await res.text());
		const { id } = await res.json();
		res = await context.request.post(`${api}/scripts/${id}/routes`, { data: { method: 'GET', path: '/boom' }, headers });
		assert.equal(res.status(), 201, await res.text());
		for (let i = 0; i < 3; i++) assert.equal((await get('/boom', 'shop.localhost')).status, 500);
		await page.goto(`${server.base}/admin/apps/shop`);
		const row = page.locator('tr', { hasText: 'boom' });
		await row.waitFor();
		// Invocation logs are written in batches: reload until they are in.
		for (let i = 0; i < 20 && (await row.locator('td').nth(3).textContent()) !== '3'; i++) {
			await page.waitForTimeout(250);
			await page.reload();
			await row.waitFor();
		}
		assert.equal(await row.locator('td').nth(3).textContent(), '3');
	});

	await t.test('see the invocation in the live list, with its log and the chart', async () => {
		await nav('Invocations').click();
		const row = page.locator(`tr[data-request-id="${requestId}"]`);
		await row.waitFor();
		await page.locator('figure', { hasText: 'greet' }).waitFor();
		await page.locator('figure', { hasText: 'boom' }).filter({ hasText: '3 errors' }).waitFor();
		// A new request shows up without a reload.
		await get('/greet/dave', 'shop.localhost');
		await page.locator('tr', { hasText: 'GET /greet/dave' }).waitFor();
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

	await t.test('a script that keeps crashing is parked, and a change unparks it', async () => {
		// boom already crashed 3 times; a few more within the server's crash
		// window (more than executor.crash_limit, 5 by default) park it.
		const api = `${server.base}/api/v1/admin`;
		const headers = { Origin: server.base };
		let res = await context.request.get(`${api}/apps/shop/scripts`);
		assert.equal(res.status(), 200, await res.text());
		const listed = await res.json();
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
		await page.goto(`${server.base}/admin/apps/shop`);
		await page.locator('tr', { hasText: 'boom' }).locator('.badge', { hasText: /^parked until/ }).waitFor();
		assert.equal(await page.locator('tr', { hasText: 'greet' }).locator('.badge', { hasText: 'parked' }).count(), 0);
		await page.goto(`${server.base}/admin/apps/shop/scripts/${boom.id}`);
		await page.getByText('This script kept crashing and is parked').waitFor();
		// A new version is a fresh start.
		const fixed = 'package main\n\nimport "picloud"\n\nfunc Handle(req *picloud.Request) *picloud.Response {\n\treturn picloud.Text(200, "fixed")\n}\n';
		res = await context.request.put(`${api}/scripts/${boom.id}`, { data: { source: fixed }, headers });
		assert.equal(res.status(), 200, await res.text());
		assert.equal((await get('/boom', 'shop.localhost')).body, 'fixed');
		await page.reload();
		await page.getByTestId('live-version').waitFor();
		assert.equal(await page.getByText('This script kept crashing and is parked').count(), 0);
		assert.equal(await page.locator('.badge', { hasText: 'parked' }).count(), 0);
	});

	await t.test('opening a page without a session goes to the login and back', async () => {
		await context.clearCookies();
		await page.goto(`${server.base}/admin/invocations?status=200`);
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

	await t.test('dark mode follows the system', async () => {
		await page.emulateMedia({ colorScheme: 'dark' });
		const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
		assert.equal(bg, 'rgb(19, 20, 23)');
		await shot('editor-dark');
		await page.emulateMedia({ colorScheme: 'light' });
	});

	await t.test('rename, change the slug, then delete with a confirmation naming what goes', async () => {
		await page.goto(`${server.base}/admin/apps/shop`);
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
		await page.getByRole('button', { name: 'Save limits' }).click();
		await page.getByText('Limits saved').waitFor();

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
});
