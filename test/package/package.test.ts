// The package as a user gets it: `npm pack`, installed from the tarball into a
// project of its own, type-checked under both module resolutions users have,
// the client bundled for the browser, a core example run, and the README's
// code as a reader copies it: every TypeScript block type-checked against the
// published types, the hello world run, and run again on RabbitMQ with the
// README's recipe.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { build } from 'esbuild';
import { projectorQueues } from 'pokegate/amqp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpUrl } from '../utils/amqp.js';

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
  'zod',
];

const readme = await readFile(join(root, 'README.md'), 'utf8');
/** The README's TypeScript blocks, in order. */
const readmeBlocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map(([, code = '']) => code);
const helloWorld = await readFile(join(root, 'src', 'examples', 'hello-world', 'hello-world.ts'), 'utf8');

/** What the hello world prints: the first fetch, the poke, and the refetch it asked for. */
const helloWorldOutput = [
  'shown after connected: null',
  'poke: n1 is at version 1',
  'shown after poke: {"id":"n1","text":"hello","version":1}',
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
  it('type-checks every TypeScript block of the README on its own: none uses a name it does not define', async () => {
    expect(readmeBlocks.length).toBeGreaterThan(5);
    const dir = join(project, 'readme');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'tsconfig.json'), tsconfig('nodenext'));
    await Promise.all(
      readmeBlocks.map((code, i) => writeFile(join(dir, `block-${i}.ts`), `${code}\nexport {};\n`)),
    );
    const checked = await run(process.execPath, [tsc, '-p', dir], { cwd: project }).catch(
      (error: unknown) => ({ stdout: (error as { stdout?: string }).stdout ?? String(error) }),
    );
    expect(checked.stdout).toBe('');
  });

  it("runs the README's hello world as it is, on Node.js's own TypeScript support", async () => {
    await writeFile(join(project, 'hello-world.ts'), helloWorld);
    const { stdout } = await run(process.execPath, ['hello-world.ts'], { cwd: project, timeout: 60_000 });
    expect(stdout.trim().split('\n')).toEqual(helloWorldOutput);
  }, 90_000);

  it("runs the hello world on RabbitMQ with the README's recipe in place of the bus", async () => {
    // The recipe's lines, as the README gives them, with names of this run's own.
    const recipe = readmeBlocks.find((code) => code.includes('createAmqpTransport({'));
    if (recipe === undefined) throw new Error('the README has no createAmqpTransport recipe');
    const suffix = `${process.pid}-${Date.now()}`;
    const exchange = `pokegate-test.hello-${suffix}`;
    const queue = `pokegate-test.hello-projector-${suffix}`;
    const lines = recipe
      .trim()
      .replace("'amqp://guest:guest@127.0.0.1:5672'", JSON.stringify(amqpUrl))
      .replace("exchange: 'notes'", `exchange: ${JSON.stringify(exchange)}`)
      .split('\n');
    const swapped = helloWorld
      .replace("import { createInProcessBus } from 'pokegate/bus';", lines[0] ?? '')
      .replace('const transport = createInProcessBus();', lines.at(-1) ?? '')
      .replace("queue: 'notes-projector'", `queue: ${JSON.stringify(queue)}`);
    expect(swapped).not.toContain('createInProcessBus');
    await writeFile(join(project, 'hello-rabbitmq.ts'), swapped);
    try {
      const { stdout } = await run(process.execPath, ['hello-rabbitmq.ts'], {
        cwd: project,
        timeout: 60_000,
      });
      expect(stdout.trim().split('\n')).toEqual(helloWorldOutput);
    } finally {
      const connection = await connect(amqpUrl);
      const channel = await connection.createChannel();
      for (const name of projectorQueues({ queue })) await channel.deleteQueue(name);
      await channel.deleteExchange(exchange);
      await connection.close();
    }
  }, 90_000);
});
