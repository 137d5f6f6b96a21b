// Unit tests of the dashboard's plain helpers (no browser needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slugProblem, scriptNameProblem, domainProblem, routePathProblem } from '../src/lib/validate.js';
import { ago, micros, statusClass, plural } from '../src/lib/format.js';
import { healthBadge } from '../src/lib/health.js';

test('slugProblem mirrors the API rule', () => {
	for (const ok of ['', 'shop', 'a', 'my-app-2', 'x'.repeat(63)]) assert.equal(slugProblem(ok), '', ok);
	for (const bad of ['Shop', 'sh op', '-shop', 'shop-', '123', 'x'.repeat(64), 'ä']) assert.notEqual(slugProblem(bad), '', bad);
});

test('scriptNameProblem mirrors the API rule', () => {
	for (const ok of ['', 'greet', 'a.b_c-d', 'X1']) assert.equal(scriptNameProblem(ok), '', ok);
	for (const bad of ['_x', '.x', 'a b', 'x'.repeat(65)]) assert.notEqual(scriptNameProblem(bad), '', bad);
});

test('domainProblem catches what is plainly not a host pattern', () => {
	for (const ok of ['', 'api.example.com', '*.example.com', '{tenant}.example.com']) assert.equal(domainProblem(ok), '', ok);
	for (const bad of ['https://x.com', 'x.com:8080', 'x.com/a', 'localhost', 'a.*.com', '{t.example.com'])
		assert.notEqual(domainProblem(bad), '', bad);
});

test('routePathProblem: leading slash, :params, reserved prefixes', () => {
	for (const ok of ['', '/', '/users/:id', '/files/*rest', '/apis']) assert.equal(routePathProblem(ok), '', ok);
	for (const bad of ['users', '/users/{id}', '/api/x', '/admin/x', '/healthz', '/metrics', '/version'])
		assert.notEqual(routePathProblem(bad), '', bad);
});

test('formatting', () => {
	const now = Date.parse('2026-01-02T03:04:05Z');
	assert.equal(ago('2026-01-02T03:04:04Z', now), 'just now');
	assert.equal(ago('2026-01-02T03:03:05Z', now), '1m ago');
	assert.equal(ago('2026-01-01T03:04:05Z', now), '1d ago');
	assert.equal(micros(850), '850 µs');
	assert.equal(micros(1500), '1.50 ms');
	assert.equal(micros(2_500_000), '2.50 s');
	assert.deepEqual([200, 404, 503].map(statusClass), ['good', 'warn', 'bad']);
	assert.equal(plural(1, 'route'), '1 route');
	assert.equal(plural(0, 'route'), '0 routes');
});

test('healthBadge words the health the server derived, never "ok" for a failing script', () => {
	const cases = [
		[{ state: 'failing', recent_calls: 5, recent_failures: 5 }, 'bad', 'failing', '5 of the last 5 calls failed'],
		[{ state: 'degraded', recent_calls: 20, recent_failures: 2 }, 'warn', 'degraded', '2 of the last 20 calls failed'],
		[{ state: 'ok', recent_calls: 0, recent_failures: 0 }, 'good', 'ok', 'no calls in the last 15 minutes'],
		[{ state: 'parked', reason: 'crashed 6 times' }, 'bad', 'parked', 'Parked: crashed 6 times'],
		[null, 'muted', 'unknown', 'No health information']
	];
	for (const [h, cls, label, title] of cases) assert.deepEqual(healthBadge(h), { cls, label, title }, JSON.stringify(h));
});
