// The web console: built into console/dist, which the silo build copies beside the silo and serves under /console/.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // One module graph, small enough for one chunk; no source maps in the silo.
    chunkSizeWarningLimit: 1024,
  },
  logLevel: 'warn',
});
