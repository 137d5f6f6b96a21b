// Unit tests of the helpers of the storage and cluster pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, until, fromBase64, hexDump, keyPath } from '../src/lib/storage.js';
import { memberStatus } from '../src/lib/cluster.js';

test('bytes picks a unit', () => {
	assert.equal(bytes(0), '0 B');
	assert.equal(bytes(1023), '1023 B');
	assert.equal(bytes(1536), '1.5 KiB');
	assert.equal(bytes(1 << 20), '1.0 MiB');
});

test('until says how far ahead a time is', () => {
	const now = Date.parse('2026-01-01T00:00:00Z');
	assert.equal(until('2025-12-31T23:59:00Z', now), 'now');
	assert.equal(until('2026-01-01T00:00:30Z', now), 'in 30s');
	assert.equal(until('2026-01-01T00:59:59Z', now), 'in 59m');
	assert.equal(until('2026-01-01T02:05:00Z', now), 'in 2h 5m');
	assert.equal(until('2026-01-03T00:00:00Z', now), 'in 2d');
	assert.equal(until('not a time', now), '');
});

test('hexDump shows offsets, hex and the printable bytes', () => {
	assert.equal(hexDump(fromBase64('/wCAAUhp')), '00000000  ff 00 80 01 48 69' + ' '.repeat(30) + '  ....Hi');
	const long = hexDump(new Uint8Array(40).fill(0x41), 32);
	assert.deepEqual(long.split('\n').map((l) => l.slice(0, 8)), ['00000000', '00000010', '… 8 more'.slice(0, 8)]);
});

test('keyPath escapes each segment of a key and keeps its slashes', () => {
	assert.equal(keyPath('user:1'), 'user%3A1');
	assert.equal(keyPath('session/a b?#%'), 'session/a%20b%3F%23%25');
});

test('memberStatus gives every status a colour and a label', () => {
	assert.deepEqual([memberStatus('alive').tone, memberStatus('suspect').tone, memberStatus('dead').tone, memberStatus('left').tone], ['good', 'warn', 'bad', 'muted']);
	assert.equal(memberStatus('weird').label, 'weird');
});
