import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { assetType, bundleDemo, type DemoAsset, type DemoAssets } from './demo-build.js';

export interface DemoPageOptions {
  readonly logger: Logger;
  /**
   * Where the page's files come from.
   * @default dist/demo when `npm run build` made it (the service runs from
   * dist), else a bundle of src/demo made in memory on the first request
   */
  readonly assets?: () => Promise<DemoAssets>;
}

/** The built page beside the compiled service: dist/service → dist/demo. */
const builtDir = new URL('../demo/', import.meta.url);

/**
 * The page and the WebSocket it opens are same-origin; nothing else is
 * allowed. The token stays in the fragment, which no request carries.
 */
const pageHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

/**
 * Serves the demo page: `/` and its files under `/demo/`. The handler
 * returns false for any other request, which it leaves alone.
 */
export function createDemoPage(
  options: DemoPageOptions,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  const { logger, assets = defaultAssets(logger) } = options;
  let loading: Promise<DemoAssets> | undefined;
  const load = (): Promise<DemoAssets> => {
    // A failed build is tried again on the next request.
    loading ??= assets().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };

  return (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
    const name =
      path === '/' ? 'index.html' : path.startsWith('/demo/') ? path.slice('/demo/'.length) : undefined;
    if (name === undefined) return false;
    load().then(
      (files) => {
        const file = files.get(name);
        if (file === undefined)
          send(response, 404, { type: 'text/plain', body: new TextEncoder().encode('Not Found\n') });
        else send(response, 200, file, name === 'index.html' ? pageHeaders : {});
      },
      (error: unknown) => {
        logger.error({ err: error }, 'the demo page could not be built');
        send(response, 500, {
          type: 'text/plain',
          body: new TextEncoder().encode('The demo page could not be built: see the service log\n'),
        });
      },
    );
    return true;
  };
}

function defaultAssets(logger: Logger): () => Promise<DemoAssets> {
  return async () => {
    if (existsSync(new URL('page.js', builtDir))) return readBuilt();
    const started = performance.now();
    // Running from the sources (`npm start`): esbuild, a development dependency, bundles them.
    const bundled = await bundleDemo();
    logger.info({ ms: Math.round(performance.now() - started) }, 'demo page bundled from its sources');
    return bundled;
  };
}

async function readBuilt(): Promise<DemoAssets> {
  const assets = new Map<string, DemoAsset>();
  for (const name of await readdir(builtDir)) {
    assets.set(name, { type: assetType(name), body: await readFile(new URL(name, builtDir)) });
  }
  return assets;
}

function send(
  response: ServerResponse,
  status: number,
  file: DemoAsset,
  headers: Readonly<Record<string, string>> = {},
): void {
  response.writeHead(status, {
    ...headers,
    'content-type': file.type,
    'content-length': file.body.byteLength,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  response.end(response.req.method === 'HEAD' ? undefined : file.body);
}
