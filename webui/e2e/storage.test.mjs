// An app's storage pages end to end, against the real binary: key-value
// browsing and editing, secrets, schedules with their next and last runs,
// the node of each invocation, and the Cluster page of a single server.
// A script of the app reads what the pages wrote, so the pages and the
// SDK are seen to agree. Screenshots: kv.png, secrets.png, schedules.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBinary, startServer } from './server.mjs';
import { launch, setupAdmin, api as callAPI, request, shot as screenshot, steps } from './browser.mjs';

let work, server, context, page;

before(async () => {
	work = mkdtempSync(join(tmpdir(), 'picloud-ui-storage-'));
	server = await startServer(buildBinary(work));
	({ context, page } = await launch(work));
});

after(async () => {
	await context?.close();
	await server?.stop();
	if (work) rmSync(work, { recursive: true, force: true });
});

const api = (...args) => callAPI(page, ...args);
const shot = (name) => screenshot(page, name);
const appTab = (name) => page.getByRole('navigation', { name: 'App sections' }).getByRole('link', { name, exact: true });

// reader answers what the pages wrote: a KV value, a secret's length, and
// how often each trigger ran it (a counter in KV).
const reader = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	runs, err := picloud.KV.Increment("runs:"+req.Trigger, 1)
	if err != nil {
		return picloud.Text(500, err.Error())
	}
	greeting, _, _ := picloud.KV.Get("greeting")
	key, ok := picloud.Secret("API_KEY")
	return picloud.JSON(200, map[string]any{"greeting": string(greeting), "secret": ok, "secret_len": len(key), "runs": runs})
}
`;

/** read calls the reader script over HTTP and answers its JSON. */
async function read() {
	const res = await request(server, '/read', 'store.localhost');
	assert.equal(res.status, 200, res.body);
	return JSON.parse(res.body);
}

test('an app: key-value storage, secrets and schedules', { timeout: 240_000 }, async (tc) => {
	const step = steps(tc, page);
	let script;

	await step('set up: an admin, an app and a script that reads its storage', async () => {
		await setupAdmin(page, server);
		await api('POST', '/apps', { slug: 'store', name: 'Store' }, 201);
		script = await api('POST', '/apps/store/scripts', { name: 'reader', source: reader }, 201);
		await api('POST', `/scripts/${script.id}/routes`, { method: 'GET', path: '/read' }, 201);
		assert.deepEqual(await read(), { greeting: '', secret: false, secret_len: 0, runs: 1 });
	});

	await step('KV: the app page links to it; create a key, the script reads it', async () => {
		await page.goto(`${server.admin}/admin/apps/store`);
		await appTab('KV').click();
		await page.waitForURL('**/admin/apps/store/kv');
		// The script's own counter is listed.
		await page.locator('tr[data-key="runs:http"]').waitFor();
		await page.getByRole('button', { name: 'New key' }).click();
		await page.getByLabel('Key', { exact: true }).fill('greeting');
		await page.getByLabel('Value', { exact: true }).fill('hello from the UI');
		await page.getByRole('button', { name: 'Save' }).click();
		await page.getByTestId('kv-value').filter({ hasText: 'hello from the UI' }).waitFor();
		await page.locator('tr[data-key="greeting"]').waitFor();
		assert.equal((await read()).greeting, 'hello from the UI');
	});

	await step('KV: edit with a lifetime; bad lifetimes are refused at the field', async () => {
		await page.getByRole('button', { name: 'Edit' }).click();
		assert.equal(await page.getByLabel('Key', { exact: true }).getAttribute('readonly'), '', 'the key of an existing entry is fixed');
		await page.getByLabel('Value', { exact: true }).fill('hello again');
		await page.getByLabel('Expires after (seconds)').fill('-5');
		await page.getByRole('button', { name: 'Save' }).click();
		await page.locator('#kv-ttl-msg', { hasText: 'whole number of seconds' }).waitFor();
		// Past the server's bound: its message, at the field.
		await page.getByLabel('Expires after (seconds)').fill('999999999999');
		await page.getByRole('button', { name: 'Save' }).click();
		await page.locator('#kv-ttl-msg', { hasText: 'must be from 1 to' }).waitFor();
		assert.equal(await page.getByLabel('Expires after (seconds)').getAttribute('aria-invalid'), 'true');
		await page.getByLabel('Expires after (seconds)').fill('3600');
		await page.getByRole('button', { name: 'Save' }).click();
		await page.getByTestId('kv-value').filter({ hasText: 'hello again' }).waitFor();
		await page.getByText(/expires in (59m|1h)/).first().waitFor();
		assert.match(await page.locator('tr[data-key="greeting"] td').nth(2).textContent(), /^in (59m|1h)/);
		assert.equal((await read()).greeting, 'hello again');
	});

	await step('KV: a binary value shows as a hex dump and base64, with its size', async () => {
		await api('PUT', '/apps/store/kv/blob%2Fraw', { value_base64: '/wCAAUhp' }, 200);
		await page.reload();
		await page.locator('tr[data-key="blob/raw"]').getByRole('button').click();
		await page.getByText('6 B · binary (not UTF-8)').waitFor(); // the value's size; the list counts the key too
		assert.match(await page.getByTestId('kv-value').textContent(), /^00000000 {2}ff 00 80 01 48 69 +\.\.\.\.Hi$/);
		await page.getByLabel('Show as base64').check();
		await page.getByTestId('kv-value').filter({ hasText: '/wCAAUhp' }).waitFor();
	});

	await step('KV: prefix search and paging by cursor', async () => {
		for (let i = 0; i < 55; i++) await api('PUT', `/apps/store/kv/page:${String(i).padStart(2, '0')}`, { value: `v${i}` }, 200);
		await page.getByLabel('Search by prefix').fill('page:');
		await page.locator('tr[data-key="page:49"]').waitFor();
		assert.equal(await page.locator('tbody tr[data-key]').count(), 50, 'a page holds 50');
		assert.equal(await page.locator('tr[data-key="greeting"]').count(), 0, 'only the prefix');
		assert.match(page.url(), /\?prefix=page%3A$/, 'the search is kept in the URL');
		await page.getByRole('button', { name: 'Next →' }).click();
		await page.locator('tr[data-key="page:54"]').waitFor();
		assert.equal(await page.locator('tbody tr[data-key]').count(), 5);
		assert.ok(await page.getByRole('button', { name: 'Next →' }).isDisabled(), 'the last page');
		await page.getByRole('button', { name: '← Previous' }).click();
		await page.locator('tr[data-key="page:00"]').waitFor();
		await page.getByLabel('Search by prefix').fill('nothing-here');
		await page.getByText('No keys start with').waitFor();
		await page.getByLabel('Search by prefix').fill('');
		await page.locator('tr[data-key="greeting"]').waitFor();
	});

	await step("KV: the app's quota is a clear error", async () => {
		const usage = (await api('GET', '/apps/store/kv', undefined, 200)).usage;
		await api('PATCH', '/apps/store', { settings: { kv_max_keys: usage.keys } }, 200);
		await page.reload();
		await page.getByTestId('kv-usage').filter({ hasText: `Using ${usage.keys} keys of ${usage.keys} keys` }).waitFor();
		await page.getByRole('button', { name: 'New key' }).click();
		await page.getByLabel('Key', { exact: true }).fill('one-too-many');
		await page.getByLabel('Value', { exact: true }).fill('x');
		await page.getByRole('button', { name: 'Save' }).click();
		await page.getByTestId('kv-error').filter({ hasText: "Over the app's storage quota" }).waitFor();
		await api('PATCH', '/apps/store', { settings: { kv_max_keys: null } }, 200);
		await page.getByRole('button', { name: 'Cancel' }).click();
	});

	await step('KV: delete with a confirmation', async () => {
		await page.locator('tr[data-key="greeting"]').getByRole('button').click();
		await shot('kv');
		await page.getByRole('button', { name: 'Delete…' }).click();
		const dialog = page.getByRole('dialog', { name: 'Delete key greeting?' });
		await dialog.getByRole('button', { name: 'Cancel' }).click();
		await page.locator('tr[data-key="greeting"]').waitFor();
		await page.getByRole('button', { name: 'Delete…' }).click();
		await dialog.getByRole('button', { name: 'Delete key' }).click();
		await page.locator('tr[data-key="greeting"]').waitFor({ state: 'detached' });
		await page.getByText('Deleted greeting.').waitFor();
		await api('GET', '/apps/store/kv/greeting', undefined, 404);
		assert.equal((await read()).greeting, '');
	});

	await step('secrets: set one; the value is never shown again, the script reads it', async () => {
		await appTab('Secrets').click();
		await page.waitForURL('**/admin/apps/store/secrets');
		await page.getByText('No secrets yet.').waitFor();
		await page.getByLabel('Name', { exact: true }).fill('1BAD');
		await page.locator('#secret-name-msg', { hasText: 'A letter or _ first' }).waitFor();
		assert.ok(await page.getByRole('button', { name: 'Set secret' }).isDisabled());
		await page.getByLabel('Name', { exact: true }).fill('API_KEY');
		assert.equal(await page.getByLabel('Value', { exact: true }).getAttribute('type'), 'password');
		await page.getByLabel('Value', { exact: true }).fill('sk-live-0123456789');
		await page.getByRole('button', { name: 'Set secret' }).click();
		await page.getByText('Set API_KEY. Scripts see it on their next call').waitFor();
		const row = page.locator('tr[data-secret="API_KEY"]');
		await row.waitFor();
		const fingerprint = await row.getByTestId('fingerprint').textContent();
		assert.ok(fingerprint.length >= 6, `a fingerprint: ${fingerprint}`);
		assert.equal(await page.getByLabel('Value', { exact: true }).inputValue(), '', 'the input is cleared');
		assert.ok(!(await page.content()).includes('sk-live-0123456789'), 'the value is nowhere on the page');
		const listed = JSON.stringify(await api('GET', '/apps/store/secrets', undefined, 200));
		assert.ok(!listed.includes('sk-live'), listed);
		assert.deepEqual(await read().then((r) => [r.secret, r.secret_len]), [true, 18]);

		// Replace: a new value, a new fingerprint.
		await row.getByRole('button', { name: 'Replace API_KEY' }).click();
		await page.getByRole('heading', { name: 'Replace API_KEY' }).waitFor();
		assert.ok(await page.evaluate(() => document.activeElement?.id === 'secret-value'), 'the value field has the focus');
		await page.getByLabel('Value', { exact: true }).fill('sk-live-rotated');
		await page.getByRole('button', { name: 'Replace', exact: true }).click();
		await page.getByText('Replaced API_KEY.').waitFor();
		await row.getByTestId('fingerprint').filter({ hasNotText: fingerprint }).waitFor();
		assert.equal((await read()).secret_len, 15);
		await page.getByLabel('Name', { exact: true }).fill('WEBHOOK_TOKEN');
		await page.getByLabel('Value', { exact: true }).fill('whk-abc');
		await page.getByRole('button', { name: 'Set secret' }).click();
		await page.locator('tr[data-secret="WEBHOOK_TOKEN"]').waitFor();
		await shot('secrets');
	});

	await step('secrets: delete with a confirmation', async () => {
		await page.getByRole('button', { name: 'Delete WEBHOOK_TOKEN' }).click();
		const dialog = page.getByRole('dialog', { name: 'Delete secret WEBHOOK_TOKEN?' });
		await dialog.getByRole('button', { name: 'Delete secret' }).click();
		await page.locator('tr[data-secret="WEBHOOK_TOKEN"]').waitFor({ state: 'detached' });
		assert.equal(await page.locator('tr[data-secret="API_KEY"]').count(), 1);
	});

	await step('schedules: the API refuses a bad cron and time zone at their fields', async () => {
		await appTab('Schedules').click();
		await page.waitForURL('**/admin/apps/store/schedules');
		await page.getByText('No schedules yet.').waitFor();
		await page.getByLabel('Cron', { exact: true }).fill('every minute');
		await page.getByRole('button', { name: 'Create schedule' }).click();
		await page.locator('#sched-cron-msg').filter({ hasText: /\S/ }).waitFor();
		assert.equal(await page.getByLabel('Cron', { exact: true }).getAttribute('aria-invalid'), 'true');
		assert.equal(await page.locator('#sched-tz-msg').textContent(), '');
		await page.getByLabel('Cron', { exact: true }).fill('*/5 * * * *');
		await page.getByLabel('Time zone', { exact: true }).fill('Mars/Olympus_Mons');
		await page.getByRole('button', { name: 'Create schedule' }).click();
		await page.locator('#sched-tz-msg').filter({ hasText: /Mars\/Olympus_Mons/ }).waitFor();
		assert.equal(await page.getByLabel('Time zone', { exact: true }).getAttribute('aria-invalid'), 'true');
		assert.equal(await page.locator('#sched-cron-msg').textContent(), '');
	});

	await step('schedules: create two, edit one, see the next runs and the last scheduled runs', async () => {
		await page.getByLabel('Time zone', { exact: true }).fill('Europe/Berlin');
		await page.getByLabel('Cron', { exact: true }).fill('0 9 * * 1-5');
		await page.getByRole('button', { name: 'Create schedule' }).click();
		await page.getByText('Scheduled: next run').waitFor();
		const weekly = page.locator('tr', { hasText: '0 9 * * 1-5' });
		await weekly.waitFor();
		assert.equal(await weekly.getByTestId('next-runs').locator('li').count(), 5, 'five next runs');
		assert.match(await weekly.textContent(), /Europe\/Berlin/);
		assert.match(await weekly.textContent(), /not yet/);

		// Edit it in its row: the API's errors at their field, then a change.
		const row = page.locator(`tr[data-schedule="${await weekly.getAttribute('data-schedule')}"]`);
		await page.getByRole('button', { name: 'Edit schedule 0 9 * * 1-5 of reader' }).click();
		const cron = row.locator('input[id^="edit-cron-"]');
		await cron.fill('0 25 * * *');
		await row.getByRole('button', { name: 'Save' }).click();
		await row.locator('[id^="edit-cron-msg-"]').filter({ hasText: /\S/ }).waitFor();
		assert.equal(await cron.getAttribute('aria-invalid'), 'true');
		await cron.fill('30 8 * * 1-5');
		await row.getByRole('button', { name: 'Save' }).click();
		await page.getByText('Changed the schedule of reader to 30 8 * * 1-5 (Europe/Berlin).').waitFor();
		const changed = page.locator('tr', { hasText: '30 8 * * 1-5' });
		await changed.waitFor();
		assert.match(await changed.getByTestId('next-runs').locator('li').first().textContent(), /:30:00/, 'next runs follow the change');

		await page.getByLabel('Time zone', { exact: true }).fill('UTC');
		await page.getByLabel('Cron', { exact: true }).fill('* * * * * *');
		await page.getByRole('button', { name: 'Create schedule' }).click();
		const everySecond = page.locator('tr', { hasText: '* * * * * *' });
		await everySecond.waitFor();
		// Invocation records are written in batches: refresh until the runs are in.
		const runs = page.getByTestId('last-runs').locator('li');
		for (let i = 0; i < 40 && (await runs.count()) < 2; i++) {
			await page.waitForTimeout(250);
			await page.getByRole('button', { name: 'Refresh' }).click();
		}
		assert.ok((await runs.count()) >= 2, 'the last scheduled runs are listed');
		await runs.first().locator('.badge', { hasText: '200' }).waitFor();
		assert.doesNotMatch(await everySecond.textContent(), /not yet/);
		assert.ok((await read()).runs >= 1);
		const scheduled = await api('GET', '/apps/store/kv/runs:schedule', undefined, 200);
		assert.ok(Number(scheduled.value) >= 2, `the script ran on schedule: ${scheduled.value}`);
		await shot('schedules');
	});

	await step('schedules: delete with a confirmation, and the firing stops', async () => {
		await page.getByRole('button', { name: 'Delete schedule * * * * * * of reader' }).click();
		const dialog = page.getByRole('dialog', { name: 'Delete schedule * * * * * *?' });
		await dialog.getByRole('button', { name: 'Delete schedule' }).click();
		await page.locator('tr', { hasText: '* * * * * *' }).waitFor({ state: 'detached' });
		const left = await api('GET', `/scripts/${script.id}/schedules`, undefined, 200);
		assert.deepEqual(left.items.map((s) => s.cron), ['30 8 * * 1-5']);
	});

	await step('invocations: each names its node; filter by it, also in the detail', async () => {
		await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Invocations', exact: true }).click();
		const row = page.locator('tbody tr[data-request-id]', { hasText: 'GET /read' }).first();
		await row.waitFor();
		const node = (await row.locator('td').nth(4).textContent()).trim();
		assert.match(node, /^[A-Za-z0-9._-]+$/, `a node name: ${node}`);
		await row.getByRole('button', { name: 'Log' }).click();
		assert.equal(await page.getByTestId('invocation-node').textContent(), node);
		await row.getByRole('button', { name: node }).click();
		assert.equal(await page.getByLabel('Node', { exact: true }).inputValue(), node);
		await page.waitForURL(/node=/);
		await page.locator('tbody tr[data-request-id]').first().waitFor();
		await page.getByLabel('Node', { exact: true }).fill('no-such-node');
		await page.getByText('No invocations match.').waitFor();
		await page.getByLabel('Node', { exact: true }).fill('');
		await row.waitFor();
	});

	await step('cluster: a single server says so and how to turn the cluster on', async () => {
		await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cluster', exact: true }).click();
		await page.getByRole('heading', { name: 'This server runs as a single node' }).waitFor();
		assert.match(await page.getByTestId('single-node').textContent(), /PICLOUD_CLUSTER_JOIN[\s\S]*docs\/cluster\.md/);
	});
});
