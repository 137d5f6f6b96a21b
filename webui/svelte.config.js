import adapter from '@sveltejs/adapter-static';

/** The dashboard is a single-page app under /admin, built to dist/ and
 * embedded in the Go binary (webui.go). Every page is rendered in the
 * browser; unknown paths get index.html from the Go side. */
export default {
	kit: {
		adapter: adapter({ pages: 'dist', assets: 'dist', fallback: 'index.html', strict: true }),
		paths: { base: '/admin', relative: false },
		// A fixed version name keeps the build byte-identical for the same
		// input (the default is a timestamp); CI checks dist is not stale.
		version: { name: 'picloud-webui', pollInterval: 0 },
		appDir: '_app',
		output: { bundleStrategy: 'split' }
	}
};
