// Bundles the demo page (src/service/demo) with esbuild: into dist/demo by
// `npm run build`, or in memory when the service runs from its sources.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

/** A file of the demo page, by its name under `/demo/` (`index.html` is served at `/`). */
export interface DemoAsset {
  readonly type: string;
  readonly body: Uint8Array;
}

export type DemoAssets = ReadonlyMap<string, DemoAsset>;

/** The same from src/service and from dist/service: the sources stay in src/service/demo. */
const sourceDir = new URL('../../src/service/demo/', import.meta.url);
/** Copied as they are, beside the bundle. */
const staticFiles = ['index.html', 'page.css'] as const;

export const assetTypes: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  map: 'application/json; charset=utf-8',
};

export function assetType(name: string): string {
  return assetTypes[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
}

function buildOptions(outdir: string): BuildOptions {
  return {
    entryPoints: { page: fileURLToPath(new URL('page.ts', sourceDir)) },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // The page imports the library by its package name, from its sources.
    conditions: ['pokegate-source'],
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  };
}

/** Bundles in memory: the service running from its sources serves this. */
export async function bundleDemo(): Promise<DemoAssets> {
  const { build } = await import('esbuild');
  const outdir = fileURLToPath(new URL('out/', sourceDir));
  const result = await build({ ...buildOptions(outdir), write: false });
  const assets = new Map<string, DemoAsset>();
  for (const file of result.outputFiles) {
    const name = file.path.slice(outdir.length);
    assets.set(name, { type: assetType(name), body: file.contents });
  }
  for (const name of staticFiles) {
    assets.set(name, { type: assetType(name), body: await readFile(new URL(name, sourceDir)) });
  }
  return assets;
}

/** Writes the bundle and the static files into `outdir` (a directory URL). */
export async function writeDemo(outdir: URL): Promise<void> {
  const { build } = await import('esbuild');
  await mkdir(outdir, { recursive: true });
  await build({ ...buildOptions(fileURLToPath(outdir)), write: true });
  for (const name of staticFiles) await copyFile(new URL(name, sourceDir), new URL(name, outdir));
}
