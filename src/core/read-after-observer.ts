// The read-after wait's metrics hooks, apart from the plugin: a metrics adapter
// needs these types, not graphql-yoga's.

/** `visible`: every token was visible in time; `timeout`: the budget ran out; `invalid`: refused. */
export type ReadAfterOutcome = 'visible' | 'timeout' | 'invalid';

export interface ReadAfterEvent {
  readonly outcome: ReadAfterOutcome;
  /** From the start of the wait to its end (0 for `invalid`). */
  readonly waitedMs: number;
  /** Tokens the request carried. */
  readonly tokens: number;
}

/** Hooks for metrics; optional and synchronous, and a throw is ignored. */
export interface ReadAfterObserver {
  /** Once per operation that carried read-after tokens. */
  readAfter?(event: ReadAfterEvent): void;
}
