import path from 'node:path';
import { defineConfig } from 'vite';

// The dashboard SPA (Preact), served by ZapHub under /dashboard from dist/dashboard
// (`npm run build`; tests pass --outDir). No plugin: Vite's own transformer compiles
// Preact's JSX, which keeps the build to about a second.
export default defineConfig({
  root: import.meta.dirname,
  base: '/dashboard/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.resolve(import.meta.dirname, '..', 'dist', 'dashboard'),
    emptyOutDir: true,
    target: 'es2022',
    // No inline code anywhere (the page's CSP is script-src 'self'); small assets stay files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
