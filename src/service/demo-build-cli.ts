// `npm run build:demo` (part of `npm run build`): the demo page's bundle into dist/demo.
import { writeDemo } from './demo-build.js';

const outdir = new URL('../../dist/demo/', import.meta.url);
await writeDemo(outdir);
console.log(`demo page bundled into ${outdir.pathname}`);
