// The package as a user gets it: `npm pack`, installed from the tarball into a
// project of its own, type-checked under both module resolutions users have,
// the client bundled for the browser, and a core example run.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** The peers the examples use (and Node's types, for the AMQP adapter's), at the versions of the lockfile. */
const peers = [
  'graphql',
  'graphql-ws',
  'graphql-yoga',
  'ws',
  '@types/ws',
  'amqplib',
  'prom-client',
  'pg',
  '@types/pg',
  '@types/node',
];

const coreExample = `
import { createGate, createRegistry, type Registry } from 'pokegate';

const gate = createGate();
const changes: Registry<{ id: string }> = createRegistry({ name: 'changes', gate });
const receiver = changes.addReceiver('c1');
const next = receiver.next();
const result = await changes.submit('c1', () => ({ id: 'o1' }));
const poke = await next;
console.log(JSON.stringify({ status: result.status, poke: poke.value }));
changes.dispose();
gate.dispose();
`;

const clientExample = `
import { createLiveClient, OperationError, type LiveClientOptions } from 'pokegate/client';

const options: LiveClientOptions = { url: 'wss://example.com/graphql' };
export const connect = () => createLiveClient(options);
export const isOperationError = (error: unknown): boolean => error instanceof OperationError;
`;

const adaptersExample = `
import type { AmqpProjectorOptions } from 'pokegate/amqp';
import type { InProcessBus } from 'pokegate/bus';
import type { WebSocketOptions } from 'pokegate/graphql';
import type { PostgresListenerOptions } from 'pokegate/postgres';
import type { PrometheusObserverOptions } from 'pokegate/prometheus';

export type Used = [
  AmqpProjectorOptions<{ type: 'x' }>,
  InProcessBus,
  WebSocketOptions,
  PostgresListenerOptions,
  PrometheusObserverOptions,
];
`;

function tsconfig(moduleResolution: 'nodenext' | 'bundler'): string {
  return JSON.stringify({
    compilerOptions: {
      strict: true,
      target: 'ES2023',
      // Disposables (`Symbol.dispose`) are in the public types, and yoga's dependencies use iterator types of ESNext.
      lib: ['ESNext', 'DOM'],
      module: moduleResolution === 'nodenext' ? 'nodenext' : 'esnext',
      moduleResolution,
      // Third-party declarations (yoga's lru-cache) do not all check under every lib; the
      // examples still type-check every use of pokegate's own declarations.
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
    },
    include: ['*.ts'],
  });
}

describe('the published package', () => {
  let project: string;
  let files: string[];

  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'pokegate-package-'));
    const packed = await run('npm', ['pack', '--json', '--pack-destination', project], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    });
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
      filename: string;
      files: { path: string }[];
    }[];
    if (info === undefined) throw new Error('npm pack printed no package');
    files = info.files.map((file) => file.path);
    const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string }>;
    };
    const pinned = peers.map(
      (name) => `${name}@${lock.packages[`node_modules/${name}`]?.version ?? 'latest'}`,
    );
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module' }));
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', join(project, info.filename), ...pinned],
      { cwd: project, maxBuffer: 16 * 1024 * 1024 },
    );
  }, 240_000);

  afterAll(async () => {
    await rm(project, { recursive: true, force: true });
  });

  it('ships the library, its licence and readme, and nothing that its exports cannot reach', () => {
    expect(files).toContain('LICENSE');
    expect(files).toContain('README.md');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/client/index.d.ts');
    const stray = files.filter(
      (file) =>
        /^(dist\/(service|orders|demo|generated)\/|src\/|test\/|bench\/)/.test(file) || file.endsWith('.map'),
    );
    expect(stray).toEqual([]);
  });

  it.each(['nodenext', 'bundler'] as const)(
    'type-checks a consumer with moduleResolution %s',
    async (resolution) => {
      const dir = join(project, resolution);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'tsconfig.json'), tsconfig(resolution));
      await writeFile(join(dir, 'core.ts'), coreExample);
      await writeFile(join(dir, 'client.ts'), clientExample);
      await writeFile(join(dir, 'adapters.ts'), adaptersExample);
      // tsc prints its errors on stdout and exits non-zero: show them rather than the exit code.
      const checked = await run(process.execPath, [tsc, '-p', dir], { cwd: project }).catch(
        (error: unknown) => ({
          stdout: (error as { stdout?: string }).stdout ?? String(error),
        }),
      );
      expect(checked.stdout).toBe('');
    },
  );

  it('bundles pokegate/client for the browser with no Node.js built-in', async () => {
    const entry = join(project, 'browser.ts');
    await writeFile(entry, clientExample);
    const result = await build({
      entryPoints: [entry],
      absWorkingDir: project,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    // A Node.js built-in would have failed the build (`platform: 'browser'`), or shows here.
    expect(inputs.filter((input) => input.startsWith('node:'))).toEqual([]);
    expect(inputs.some((input) => input.includes('pokegate/dist/client/'))).toBe(true);
  });

  it('runs the core example on Node.js', async () => {
    // Types stripped by hand: the example runs as plain JavaScript.
    const js = coreExample.replace(', type Registry', '').replace(': Registry<{ id: string }>', '');
    await writeFile(join(project, 'core.mjs'), js);
    const { stdout } = await run(process.execPath, [join(project, 'core.mjs')], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({ status: 'delivered', poke: { id: 'o1' } });
  });
});
