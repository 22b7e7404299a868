// `npm run build:service`: the reference service as one file for its image,
// build/service/main.js, with the demo page's files in build/demo. Every
// dependency is bundled but PGlite (loaded only without DATABASE_URL, and
// shipped beside the bundle by the Dockerfile) and esbuild (only used when
// build/demo is missing); the schema stays in schema/, read at start.
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { writeDemo } from './demo-build.js';

const outdir = new URL('../../build/', import.meta.url);
await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: [fileURLToPath(new URL('main.ts', import.meta.url))],
  outfile: fileURLToPath(new URL('service/main.js', outdir)),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  // The library by its package name, from its sources: the service is one of its users.
  conditions: ['pokegate-source'],
  // Optional native add-ons that the bundled libraries probe for, and the two loaded on demand.
  external: ['@electric-sql/pglite', 'esbuild', 'pg-native', 'bufferutil', 'utf-8-validate'],
  // Some bundled CommonJS modules call `require` for Node's built-ins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
await writeDemo(new URL('demo/', outdir));
console.log(`service bundled into ${fileURLToPath(outdir)}`);
