// The Cluster page of a real one-member cluster: the real binary in
// cluster mode on 127.0.0.1 (gossip and remote on ports the OS hands
// out) and a PostgreSQL schema of its own. Needs PostgreSQL (as the Go
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
import { launch, setupAdmin, request, shot as screenshot, steps } from './browser.mjs';

const PG = process.env.PICLOUD_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable';
const NODE = 'ui-node-1';

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

let work, server, context, page, schema;

before(async () => {
	if (skip) return;
	work = mkdtempSync(join(tmpdir(), 'picloud-ui-cluster-'));
	schema = 'ui_' + randomBytes(6).toString('hex');
	psql(`CREATE SCHEMA ${schema}`);
	const url = new URL(PG);
	url.searchParams.set('search_path', schema);
	server = await startServer(buildBinary(work), {
		env: {
			PICLOUD_DATABASE_URL: url.toString(),
			PICLOUD_CLUSTER_ENABLED: 'true',
			PICLOUD_CLUSTER_GOSSIP: `127.0.0.1:${await freePort()}`,
			PICLOUD_CLUSTER_REMOTE: `127.0.0.1:${await freePort()}`,
			PICLOUD_NODE_NAME: NODE
		}
	});
	({ context, page } = await launch(work));
});

after(async () => {
	await context?.close();
	await server?.stop();
	if (schema) psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
	if (work) rmSync(work, { recursive: true, force: true });
});

test('the Cluster page of a one-member cluster', { timeout: 180_000, skip: skip || false }, async (tc) => {
	const step = steps(tc, page);

	await step('the member table: this node, alive, its roles, refreshed', async () => {
		await setupAdmin(page, server);
		await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cluster', exact: true }).click();
		await page.waitForURL('**/admin/cluster');
		const row = page.locator(`tr[data-member="${NODE}"]`);
		await row.waitFor();
		assert.equal(await page.locator('tbody tr[data-member]').count(), 1, 'one member');
		await row.getByText('this node').waitFor();
		const status = row.getByTestId('member-status');
		assert.equal((await status.textContent()).trim(), '● alive');
		assert.match(await status.getAttribute('class'), /\bgood\b/, 'alive is green');
		const cells = (await row.locator('td').allTextContents()).map((c) => c.trim());
		assert.match(cells[2], /manager.*ingress.*executor|executor.*ingress.*manager/s, `roles: ${cells[2]}`);
		assert.match(cells[3], /^127\.0\.0\.1:\d+$/, `gossip: ${cells[3]}`);
		assert.match(cells[5], /^\d+$/, `executors are known for this node: ${cells[5]}`);
		assert.match(cells[7], /just now|\d+s ago|\d+m ago/, `joined: ${cells[7]}`);
		await page.getByText(`This page is answered by ${NODE}`).waitFor();

		// A call starts an executor on the node; the page shows it without a reload.
		const before = Number(cells[5]);
		const res = await request(server, '/', '127.0.0.1');
		assert.equal(res.status, 200, res.body);
		await page.waitForFunction(
			([name, n]) => Number(document.querySelector(`tr[data-member="${name}"] td:nth-child(6)`)?.textContent) > n,
			[NODE, before],
			{ timeout: 15_000 }
		);
		await screenshot(page, 'cluster');
	});

	await step("a member's invocations: the node filter of the invocation list", async () => {
		await page.locator(`tr[data-member="${NODE}"]`).getByRole('link', { name: NODE }).click();
		await page.waitForURL(`**/admin/invocations?node=${NODE}`);
		assert.equal(await page.getByLabel('Node', { exact: true }).inputValue(), NODE);
		const row = page.locator('tbody tr[data-request-id]').first();
		await row.waitFor();
		assert.equal((await row.locator('td').nth(4).textContent()).trim(), NODE);
	});
});
