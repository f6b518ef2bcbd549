// Vite build of the Parley web client. Output goes to web/dist, which `parley serve
// --http.web_root=web/dist` serves with hashed assets under /assets/ and a strict CSP
// (no inline scripts), so nothing here may inline JavaScript into index.html.
import { defineConfig } from 'vite';
import { parleyEmoji } from './emoji_plugin.mjs';
import { parleyPwa } from './pwa_plugin.mjs';

export default defineConfig({
  plugins: [parleyEmoji(), parleyPwa()], // parleyPwa: PNG icons and sw.js (installable app)
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    target: 'es2022',
    modulePreload: { polyfill: false }, // the polyfill is an inline script; CSP forbids it
    assetsInlineLimit: 0,               // keep icons as files, not data: URLs in JS
    sourcemap: false,
  },
  server: {
    proxy: { '/api': { target: 'http://127.0.0.1:8080', ws: true } },
  },
});
