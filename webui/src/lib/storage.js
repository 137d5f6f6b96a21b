// Formatting for the app storage pages (KV, secrets, schedules).

/** bytes is a size in bytes, briefly: 512 B, 1.5 KiB, 2.0 MiB. */
export function bytes(n) {
	if (n < 1024) return `${n} B`;
	if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
	return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** until says how far ahead an RFC 3339 time is, briefly ("in 5m"). */
export function until(iso, now = Date.now()) {
	const s = Math.round((Date.parse(iso) - now) / 1000);
	if (!isFinite(s)) return '';
	if (s <= 0) return 'now';
	if (s < 60) return `in ${s}s`;
	if (s < 3600) return `in ${Math.floor(s / 60)}m`;
	if (s < 86400) return `in ${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
	return `in ${Math.floor(s / 86400)}d`;
}

/** fromBase64 decodes standard base64 into bytes. */
export function fromBase64(b64) {
	const bin = atob(b64);
	const out = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
	return out;
}

/**
 * hexDump shows bytes as a classic dump (offset, 16 bytes in hex, the
 * printable ones as text), at most max bytes of them.
 */
export function hexDump(data, max = 4096) {
	const lines = [];
	for (let off = 0; off < Math.min(data.length, max); off += 16) {
		const row = data.subarray(off, Math.min(off + 16, data.length));
		const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
		const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
		lines.push(`${off.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${text}`);
	}
	if (data.length > max) lines.push(`… ${data.length - max} more bytes`);
	return lines.join('\n');
}

/**
 * keyPath puts a KV key into an API path ({key:*} takes the rest of the
 * path): each segment escaped, the slashes kept.
 */
export const keyPath = (key) => key.split('/').map(encodeURIComponent).join('/');
