// Read-your-writes across replicas: a request names the versions it must see
// (the tokens of the pokes it follows) and this replica waits until its own
// read view shows them before executing, within a budget.
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { systemClock, type Clock } from '../common/clock.js';
import { reasonOf } from '../common/errors.js';
import { expectFunction, expectInteger } from '../common/validate.js';
import { guardHook } from '../core/observer.js';
import type { ReadAfterEvent, ReadAfterObserver, ReadAfterOutcome } from '../core/read-after-observer.js';
import { createVisibilityWaiters, type VersionTarget, type VisibilityCheck } from './visibility-waiters.js';

export type { VersionTarget, VisibilityCheck };

export type { ReadAfterEvent, ReadAfterObserver, ReadAfterOutcome };

export interface ReadAfterOptions<T extends VersionTarget, TContext> {
  /**
   * Decodes and verifies one token for the operation's context (its caller):
   * throws for a malformed or forged token, or one the caller may not read.
   * The throw's message goes to the client in a `BAD_USER_INPUT` error.
   */
  readonly decode: (token: string, context: TContext) => T;
  /** Whether this replica's read view shows `target` now. */
  readonly isVisible: VisibilityCheck<T>;
  /**
   * Longest wait of one operation for all its tokens; then it executes anyway
   * and its result carries `extensions.pokegate.stale: true`. Minimum: 0.
   * @default 2000
   */
  readonly timeoutMs?: number;
  /**
   * Interval of the checks of a waiting operation when no commit report
   * wakes it: the fallback for a report that never comes. Minimum: 1.
   * @default 500
   */
  readonly pollIntervalMs?: number;
  /**
   * Most tokens one operation may carry; more is `BAD_USER_INPUT`. Minimum: 1.
   * @default 64
   */
  readonly maxTokens?: number;
  readonly observer?: ReadAfterObserver;
  /** @default systemClock */
  readonly clock?: Clock;
}

export interface ReadAfter {
  /** The yoga plugin: add it to `createYoga({ plugins })`. */
  readonly plugin: Plugin;
  /**
   * A commit made `key` visible at `version` in this replica's read view:
   * wakes the operations waiting for it. Feed it every commit report, e.g.
   * from the same listener that feeds `Registry.progress`.
   */
  notify(key: string, version: number): void;
  /** Operations waiting now. */
  readonly waiting: number;
  /** Ends every wait at once (those operations execute, marked stale). Idempotent. */
  dispose(): void;
}

/** What the response carries under `extensions.pokegate` when the request had tokens. */
export interface ReadAfterExtension {
  /** Milliseconds the operation waited for its tokens. */
  readonly waitedMs: number;
  /** Present when the budget ran out: the result may predate a token. */
  readonly stale?: true;
}

/** Longest token accepted; pokegate's own are well under 200 characters. */
const maxTokenLength = 1_024;

/**
 * Read-after tokens for yoga (HTTP POST and GET) and graphql-ws (through
 * `getEnveloped`): reads `extensions.pokegate.after` (a token or a list) of
 * each query or mutation, and waits before executing until every token is
 * visible here. The service supplies what a token means (`decode`) and when
 * it is visible (`isVisible`); the waiting, the budget and the metrics are here.
 */
export function createReadAfter<T extends VersionTarget, TContext>(
  options: ReadAfterOptions<T, TContext>,
): ReadAfter {
  const {
    decode,
    isVisible,
    timeoutMs = 2_000,
    pollIntervalMs = 500,
    maxTokens = 64,
    observer = {},
    clock = systemClock,
  } = options;
  expectFunction('decode', decode);
  expectFunction('isVisible', isVisible);
  expectInteger('timeoutMs', timeoutMs, 0);
  expectInteger('pollIntervalMs', pollIntervalMs, 1);
  expectInteger('maxTokens', maxTokens, 1);
  const report = guardHook(observer, 'readAfter');
  const waiters = createVisibilityWaiters(clock, pollIntervalMs);
  const disposed = new AbortController();

  /** Waits for every target; true when all were visible within the budget. */
  const waitAll = async (targets: readonly T[]): Promise<boolean> => {
    const budget = new AbortController();
    const timer = new AbortController();
    const end = (): void => budget.abort();
    disposed.signal.addEventListener('abort', end, { once: true });
    void clock.sleep(timeoutMs, timer.signal).then((elapsed) => elapsed && end());
    try {
      const visible = await Promise.all(targets.map((t) => waiters.wait(t, isVisible, budget.signal)));
      return visible.every(Boolean);
    } finally {
      timer.abort();
      end();
      disposed.signal.removeEventListener('abort', end);
    }
  };

  const plugin: Plugin = {
    async onExecute({ args, setResultAndStopExecution }) {
      const tokens = readTokens(args.contextValue);
      if (tokens === undefined) return undefined;
      let targets: T[];
      try {
        if (typeof tokens === 'string') throw new Error(tokens);
        if (tokens.length > maxTokens) throw new Error(`more than ${maxTokens} tokens`);
        targets = tokens.map((token) => decode(token, args.contextValue as TContext));
      } catch (error) {
        report({ outcome: 'invalid', waitedMs: 0, tokens: Array.isArray(tokens) ? tokens.length : 1 });
        const reason = reasonOf(error);
        setResultAndStopExecution({
          errors: [
            new GraphQLError(`Invalid read-after token in extensions.pokegate.after: ${reason}`, {
              extensions: { code: 'BAD_USER_INPUT' },
            }),
          ],
        });
        return undefined;
      }
      const started = clock.now();
      const visible = await waitAll(targets);
      const waitedMs = Math.max(0, Math.round(clock.now() - started));
      report({ outcome: visible ? 'visible' : 'timeout', waitedMs, tokens: targets.length });
      const extension: ReadAfterExtension = visible ? { waitedMs } : { waitedMs, stale: true };
      return {
        onExecuteDone({ result, setResult }) {
          // An incremental (@defer/@stream) result is a stream: its parts carry no such flag.
          if (Symbol.asyncIterator in result) return;
          setResult(withExtension(result, extension));
        },
      };
    },
  };

  return {
    plugin,
    notify: (key, version) => waiters.notify(key, version),
    get waiting() {
      return waiters.waiting;
    },
    dispose: () => disposed.abort(),
  };
}

function withExtension(result: ExecutionResult, extension: ReadAfterExtension): ExecutionResult {
  const extensions = result.extensions ?? {};
  const pokegate = extensions['pokegate'];
  return {
    ...result,
    extensions: { ...extensions, pokegate: { ...(isRecord(pokegate) ? pokegate : {}), ...extension } },
  };
}

/**
 * The tokens of `extensions.pokegate.after` in the operation's params (yoga's
 * HTTP params, or graphql-ws's `subscribe` payload): undefined when there are
 * none, a message when the value is not a token or a list of tokens.
 */
function readTokens(context: unknown): readonly string[] | string | undefined {
  if (!isRecord(context)) return undefined;
  const params = context['params'];
  const extensions = isRecord(params) ? params['extensions'] : undefined;
  const pokegate = isRecord(extensions) ? extensions['pokegate'] : undefined;
  const after = isRecord(pokegate) ? pokegate['after'] : undefined;
  if (after === undefined || after === null) return undefined;
  const list: unknown[] = Array.isArray(after) ? after : [after];
  if (list.length === 0) return undefined;
  for (const token of list) {
    if (typeof token !== 'string' || token === '' || token.length > maxTokenLength) {
      return `expected a token or a list of tokens (non-empty strings of at most ${maxTokenLength} characters)`;
    }
  }
  return list as string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
