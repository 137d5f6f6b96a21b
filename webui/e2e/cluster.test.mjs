// The Cluster page of a real two-member cluster: the real binary twice,
// in cluster mode on 127.0.0.1 (gossip and remote on ports the OS hands
// out), on a PostgreSQL schema of their own; the second joins the first
// and later leaves. Needs PostgreSQL (as the Go
// tests: PICLOUD_TEST_POSTGRES_URL, default 127.0.0.1:5432 db test user
// postgres) and psql; without them the test is skipped, except under
// CI=true. Screenshot: cluster.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import dgram from 'node:dgram';
import { buildBinary, startServer } from './server.mjs';
import { launch, setupAdmin, request, api as callAPI, shot as screenshot, steps } from './browser.mjs';

const PG = process.env.PICLOUD_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable';
const NODE = 'ui-node-1';
const OTHER = 'ui-node-2';

/** psql runs one statement on the test database; it throws when it cannot. */
const psql = (sql) => execFileSync('psql', [PG, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { stdio: 'pipe', timeout: 10_000 });

/** freePort is a 127.0.0.1 port free for TCP and UDP both (memberlist uses both). */
async function freePort() {
	for (let i = 0; i < 20; i++) {
		const port = await new Promise((resolvePort, reject) => {
			const srv = net.createServer().listen(0, '127.0.0.1', () => {
				const p = srv.address().port;
				srv.close(() => resolvePort(p));
			});
			srv.on('error', reject);
		});
		const udpFree = await new Promise((resolveUDP) => {
			const sock = dgram.createSocket('udp4');
			sock.once('error', () => resolveUDP(false));
			sock.bind(port, '127.0.0.1', () => sock.close(() => resolveUDP(true)));
		});
		if (udpFree) return port;
	}
	throw new Error('no free port');
}

let skip = '';
try {
	psql('SELECT 1');
} catch (e) {
	skip = `PostgreSQL at ${PG} is not reachable through psql: ${String(e.message).split('\n')[0]}`;
	if (process.env.CI === 'true') throw new Error(`${skip} (CI=true: PostgreSQL is required)`);
}

let work, server, other, context, page, schema;

before(async () => {
	if (skip) return;
	work = mkdtempSync(join(tmpdir(), 'picloud-ui-cluster-'));
	schema = 'ui_' + randomBytes(6).toString('hex');
	psql(`CREATE SCHEMA ${schema}`);
	const url = new URL(PG);
	url.searchParams.set('search_path', schema);
	const bin = buildBinary(work);
	const node = async (name, join) => ({
		PICLOUD_DATABASE_URL: url.toString(),
		PICLOUD_CLUSTER_ENABLED: 'true',
		PICLOUD_CLUSTER_GOSSIP: `127.0.0.1:${await freePort()}`,
		PICLOUD_CLUSTER_REMOTE: `127.0.0.1:${await freePort()}`,
		PICLOUD_CLUSTER_JOIN: join,
		PICLOUD_NODE_NAME: name
	});
	const first = await node(NODE, '');
	server = await startServer(bin, { env: first });
	// Started before the first admin exists, it prints a setup link too.
	other = await startServer(bin, { env: await node(OTHER, first.PICLOUD_CLUSTER_GOSSIP) });
	({ context, page } = await launch(work));
});

after(async () => {
	await context?.close();
	await other?.stop();
	await server?.stop();
	if (schema) psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
	if (work) rmSync(work, { recursive: true, force: true });
});

test('the Cluster page of a two-member cluster', { timeout: 180_000, skip: skip || false }, async (tc) => {
	const step = steps(tc, page);

	await step('the member table: both members alive, this node marked, its roles', async () => {
		await setupAdmin(page, server);
		await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cluster', exact: true }).click();
		await page.waitForURL('**/admin/cluster');
		const row = page.locator(`tr[data-member="${NODE}"]`);
		await row.waitFor();
		const otherRow = page.locator(`tr[data-member="${OTHER}"]`);
		// On a loaded machine a probe can miss and the member show as
		// suspect or dead for a while; it rejoins by itself.
		await otherRow.getByTestId('member-status').filter({ hasText: 'alive' }).waitFor({ timeout: 60_000 });
		assert.equal(await page.locator('tbody tr[data-member]').count(), 2, 'two members');
		await row.getByText('this node').waitFor();
		assert.equal(await otherRow.getByText('this node').count(), 0, 'only the answering node is marked');
		// Executors and in-flight calls are known for the answering node only.
		assert.deepEqual((await otherRow.locator('td').allTextContents()).slice(5, 7).map((c) => c.trim()), ['–', '–']);
		const status = row.getByTestId('member-status');
		assert.equal((await status.textContent()).trim(), '● alive');
		assert.match(await status.getAttribute('class'), /\bgood\b/, 'alive is green');
		const cells = (await row.locator('td').allTextContents()).map((c) => c.trim());
		assert.match(cells[2], /manager.*ingress.*executor|executor.*ingress.*manager/s, `roles: ${cells[2]}`);
		assert.match(cells[3], /^127\.0\.0\.1:\d+$/, `gossip: ${cells[3]}`);
		assert.match(cells[5], /^\d+$/, `executors are known for this node: ${cells[5]}`);
		assert.match(cells[7], /just now|\d+s ago|\d+m ago/, `joined: ${cells[7]}`);
		await page.getByText(`This page is answered by ${NODE}`).waitFor();

		// A call, so that an executor runs somewhere (which member owns it
		// is the placement's choice); the leave below shows the refresh.
		assert.equal((await request(server, '/', '127.0.0.1')).status, 200);
		await screenshot(page, 'cluster');
	});

	await step('a member that leaves is shown so, or dropped, without a reload', async () => {
		await other.stop();
		other = null;
		const otherRow = page.locator(`tr[data-member="${OTHER}"]`);
		await page.waitForFunction(
			(name) => {
				const row = document.querySelector(`tr[data-member="${name}"]`);
				return !row || /left|dead/.test(row.querySelector('[data-testid="member-status"]').textContent);
			},
			OTHER,
			{ timeout: 15_000 }
		);
		if (await otherRow.count()) assert.match(await otherRow.getByTestId('member-status').getAttribute('class'), /\b(muted|bad)\b/);
		assert.equal((await page.locator(`tr[data-member="${NODE}"]`).getByTestId('member-status').textContent()).trim(), '● alive');
	});

	await step("a member's invocations: the node filter of the invocation list", async () => {
		// The only member left runs this call (before, it may have run on the other).
		assert.equal((await request(server, '/?n=2', '127.0.0.1')).status, 200);
		// Records are written in batches: wait for it (an empty first page
		// then streams only what comes after).
		for (let i = 0; i < 40 && !(await callAPI(page, 'GET', `/invocations?node=${NODE}`, undefined, 200)).items.length; i++) await page.waitForTimeout(250);
		await page.locator(`tr[data-member="${NODE}"]`).getByRole('link', { name: NODE }).click();
		await page.waitForURL(`**/admin/invocations?node=${NODE}`);
		assert.equal(await page.getByLabel('Node', { exact: true }).inputValue(), NODE);
		const row = page.locator('tbody tr[data-request-id]').first();
		await row.waitFor();
		assert.equal((await row.locator('td').nth(4).textContent()).trim(), NODE);
	});
});
