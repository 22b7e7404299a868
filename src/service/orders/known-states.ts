import type { OrderState } from './types.js';

/**
 * The newest state of recently committed orders, as the read view learned it
 * from its own writes and from the commit notices of every replica: the
 * server sends a notice only after the commit, and an order's version only
 * grows, so a state known here at version v means the view shows v or later.
 * Bounded: the oldest entries go first.
 */
export class KnownStates {
  readonly #max: number;
  readonly #states = new Map<string, OrderState>();

  constructor(max: number) {
    this.#max = max;
  }

  /** The state of `id` if it is known to be at `version` or later. */
  atLeast(id: string, version: number): OrderState | undefined {
    const state = this.#states.get(id);
    return state !== undefined && state.version >= version ? state : undefined;
  }

  remember(id: string, state: OrderState): void {
    const known = this.#states.get(id);
    if (known !== undefined && known.version >= state.version) return;
    // Deleted first: a refreshed entry moves to the newest end.
    this.#states.delete(id);
    this.#states.set(id, state);
    if (this.#states.size > this.#max) {
      const oldest = this.#states.keys().next();
      if (oldest.done !== true) this.#states.delete(oldest.value);
    }
  }
}
