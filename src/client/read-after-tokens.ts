// The client's half of read-after tokens: a poke's root field may carry a
// `token` string; the refetch that follows sends every such token back as
// `extensions.pokegate.after`, so whichever replica answers waits until it
// shows what the pokes announced.
import type { SubscribePayload } from 'graphql-ws/client';
import type { OperationResult } from './session.js';

/** The server refuses more per request (64 by default); the newest are kept. */
const maxTokens = 64;

/** The read-after tokens of pokes that no answered fetch has covered yet. */
export interface PendingTokens {
  /** Keeps the `token` strings of a poke's root field values. */
  add(pokeData: Readonly<Record<string, unknown>>): void;
  /** Hands the tokens to a fetch starting now. */
  take(): readonly string[];
  /** A fetch that took `tokens` got no answer (its session ended): the next fetch sends them. */
  restore(tokens: readonly string[]): void;
}

export function createPendingTokens(): PendingTokens {
  let pending: string[] = [];
  const keepNewest = (): void => {
    if (pending.length > maxTokens) pending = pending.slice(-maxTokens);
  };
  return {
    add(pokeData) {
      for (const value of Object.values(pokeData)) {
        if (typeof value !== 'object' || value === null) continue;
        const token = (value as Record<string, unknown>)['token'];
        if (typeof token === 'string' && token !== '') pending.push(token);
      }
      keepNewest();
    },
    take() {
      const taken = pending;
      pending = [];
      return taken;
    },
    restore(tokens) {
      pending = [...tokens, ...pending];
      keepNewest();
    },
  };
}

/** `payload` with `tokens` as `extensions.pokegate.after`; `payload` itself when there are none. */
export function withReadAfter(payload: SubscribePayload, tokens: readonly string[]): SubscribePayload {
  if (tokens.length === 0) return payload;
  return { ...payload, extensions: { ...payload.extensions, pokegate: { after: tokens } } };
}

/** Whether the server answered before it showed every read-after token (`extensions.pokegate.stale`). */
export function isStale(extensions: Record<string, unknown> | undefined): boolean {
  const pokegate = extensions?.['pokegate'];
  return (
    typeof pokegate === 'object' && pokegate !== null && (pokegate as { stale?: unknown }).stale === true
  );
}

/** The answer's `extensions`, when it is an object (the protocol lets a server send anything there). */
export function extensionsOf(result: OperationResult): Record<string, unknown> | undefined {
  const { extensions } = result;
  return typeof extensions === 'object' && extensions !== null
    ? (extensions as Record<string, unknown>)
    : undefined;
}
