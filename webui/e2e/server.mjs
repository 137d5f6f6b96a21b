// Starts the real picloud binary for the UI tests: on 127.0.0.1 with a
// port the OS picks, a fresh temporary data dir (SQLite) and no admin, so
// the server prints its one-time setup link. The dashboard lives on the
// admin host, admin.localhost on the same port (Chromium resolves
// *.localhost to this machine; Node does not, so Node talks to the server
// by address with a Host header).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

const repo = resolve(here, '..', '..');

/** buildBinary builds ./cmd/picloud unless PICLOUD_BIN names a binary. */
export function buildBinary(dir) {
	if (process.env.PICLOUD_BIN) return resolve(process.env.PICLOUD_BIN);
	const bin = join(dir, 'picloud');
	execFileSync('go', ['build', '-o', bin, './cmd/picloud'], { cwd: repo, stdio: 'inherit' });
	return bin;
}

/**
 * startServer runs bin and resolves once it listens and printed the setup
 * link. env adds to (or overrides) the server's environment, e.g. for
 * cluster mode on PostgreSQL.
 */
export async function startServer(bin, { env = {} } = {}) {
	const dataDir = mkdtempSync(join(tmpdir(), 'picloud-ui-data-'));
	const proc = spawn(bin, ['serve'], {
		cwd: dataDir,
		env: { PATH: process.env.PATH, HOME: dataDir, PICLOUD_LISTEN: '127.0.0.1:0', PICLOUD_DATA_DIR: dataDir, ...env },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let logs = '';
	const seen = new Promise((resolveSeen, reject) => {
		const onData = (chunk) => {
			logs += chunk;
			const addr = logs.match(/msg=listening addr=(\S+)/);
			const token = logs.match(/\/admin\/setup\?token=([A-Za-z0-9_-]+)/);
			if (addr && token) resolveSeen({ base: `http://${addr[1]}`, setupToken: token[1] });
		};
		proc.stdout.on('data', onData);
		proc.stderr.on('data', onData);
		proc.on('exit', (code) => reject(new Error(`picloud exited with ${code} before it was up:\n${logs}`)));
		setTimeout(() => reject(new Error(`picloud was not up within 60s:\n${logs}`)), 60_000).unref();
	});
	const { base, setupToken } = await seen;
	return {
		base,
		admin: `http://admin.localhost:${new URL(base).port}`,
		setupToken,
		logs: () => logs,
		async stop() {
			if (proc.exitCode === null) {
				const exited = new Promise((r) => proc.once('exit', r));
				proc.kill('SIGTERM');
				await exited;
			}
			rmSync(dataDir, { recursive: true, force: true });
		}
	};
}
