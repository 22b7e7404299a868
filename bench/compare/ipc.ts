// The parent ↔ child plumbing of the side-by-side benchmark: every server and
// the load generator run in processes of their own and answer requests over
// Node's IPC channel.
import { spawn, type ChildProcess } from 'node:child_process';

/** A request to a child: `type` picks the handler, the rest is its argument. */
export interface Request {
  readonly type: string;
  readonly [field: string]: unknown;
}

interface Envelope {
  readonly id: number;
  readonly request?: Request;
  readonly ok?: boolean;
  readonly value?: unknown;
  readonly error?: string;
}

export interface Child {
  readonly pid: number;
  /** What the child said when it was ready (its port, …). */
  readonly ready: Record<string, unknown>;
  /** Every stdout/stderr line so far. */
  readonly lines: readonly string[];
  request<R>(request: Request, timeoutMs?: number): Promise<R>;
  /** Asks the child to stop (`{type: 'stop'}`), then kills it after `graceMs`. Resolves on exit. */
  stop(graceMs?: number): Promise<number | null>;
}

const children = new Set<ChildProcess>();

/** Kills every child still running: the last resort of a failed run. */
export function killChildren(): void {
  for (const child of children) child.kill('SIGKILL');
}

export interface SpawnOptions {
  readonly env?: Record<string, string>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
  /** @default 60000 */
  readonly readyTimeoutMs?: number;
}

/** Runs `file` under tsx with `--expose-gc`; resolves once it sends `{type: 'ready'}`. */
export async function spawnChild(file: string, options: SpawnOptions = {}): Promise<Child> {
  const { env = {}, nodeFlags = [], readyTimeoutMs = 60_000 } = options;
  const child = spawn(
    process.execPath,
    ['--conditions=pokegate-source', '--expose-gc', ...nodeFlags, '--import', 'tsx', file],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  children.add(child);
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.on('data', (chunk: Buffer) => {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) if (line.trim() !== '') lines.push(line);
    });
  }
  let stopping = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      // A child that dies by itself says why only in its output.
      if (!stopping) console.error(`${file} exited with ${code ?? signal}:\n${lines.slice(-30).join('\n')}`);
      for (const { reject } of pending.values()) reject(new Error(`${file} exited with ${code}`));
      pending.clear();
      resolve(code);
    }),
  );
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let lastId = 0;
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${file} was not ready within ${readyTimeoutMs} ms:\n${lines.join('\n')}`));
    }, readyTimeoutMs);
    child.on('message', (message: Record<string, unknown>) => {
      if (typeof message['id'] === 'number') {
        const { id, ok, value, error } = message as unknown as Envelope;
        const waiting = pending.get(id);
        pending.delete(id);
        if (ok === true) waiting?.resolve(value);
        else waiting?.reject(new Error(`${file}: ${String(error)}`));
      } else if (message['type'] === 'ready') {
        clearTimeout(timer);
        resolve(message);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code} before it was ready:\n${lines.join('\n')}`));
    });
  });
  return {
    pid: child.pid ?? 0,
    ready,
    lines,
    request<R>(request: Request, timeoutMs = 300_000): Promise<R> {
      const id = ++lastId;
      return new Promise<R>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${file}: no answer to ${request.type} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as R);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        // With a callback, a closed channel rejects this request instead of crashing the run.
        child.send({ id, request } satisfies Envelope, (error) => {
          if (error === null) return;
          pending.delete(id);
          clearTimeout(timer);
          reject(error);
        });
      });
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      stopping = true;
      child.send({ id: 0, request: { type: 'stop' } } satisfies Envelope, () => undefined);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export type Handlers = Record<string, ((request: Request) => unknown) | undefined>;

/**
 * The child side: answers each request with its handler's (awaited) value;
 * `stop` runs `onStop` and exits. Sends `ready` with `info`.
 */
export function serveParent(
  handlers: Handlers,
  info: Record<string, unknown>,
  onStop: () => Promise<void>,
): void {
  const send = (envelope: Envelope): void => {
    process.send?.(envelope);
  };
  process.on('message', (message: Envelope) => {
    const { id, request } = message;
    if (request === undefined) return;
    if (request.type === 'stop') {
      onStop().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(error);
          process.exit(1);
        },
      );
      return;
    }
    const handler = handlers[request.type];
    if (handler === undefined) {
      send({ id, ok: false, error: `no handler for ${request.type}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(request))
      .then(
        (value) => send({ id, ok: true, value }),
        (error: unknown) =>
          send({
            id,
            ok: false,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          }),
      );
  });
  // The parent died: nothing will ever stop this process otherwise.
  process.on('disconnect', () => {
    void onStop().finally(() => process.exit(1));
  });
  process.send?.({ ...info, type: 'ready' });
}
