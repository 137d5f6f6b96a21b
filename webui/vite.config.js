import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
	plugins: [sveltekit()],
	build: {
		sourcemap: false,
		reportCompressedSize: false,
		chunkSizeWarningLimit: 1200,
		// Quiet: the plugin timing report is noise in CI logs.
		rolldownOptions: { checks: { pluginTimings: false } }
	},
	server: {
		// `npm run dev` talks to a PiCloud started with `make run`, as its
		// admin host (the API answers nowhere else); the proxy stands in
		// for the browser on that origin, so it names it in Origin too.
		proxy: {
			'/api': {
				target: 'http://127.0.0.1:8080',
				headers: { host: 'admin.localhost:8080', origin: 'http://admin.localhost:8080' }
			}
		}
	}
});
