// The dashboard runs in the browser only: the Go binary serves the built
// files and index.html for every page path.
export const ssr = false;
export const prerender = false;
export const trailingSlash = 'never';
