import type { Clock } from '../common/clock.js';

/**
 * Things let go that leave `lingerMs` later unless taken back first. The
 * linger is the same for all, so they leave in the order they were let go:
 * one timer, for the oldest, is enough however many wait.
 */
export class Linger<T> {
  readonly #lingerMs: number;
  readonly #clock: Clock;
  readonly #leave: (gone: readonly T[]) => void;
  /** Each waiting thing with the time it leaves; oldest first (a Map keeps insertion order). */
  readonly #waiting = new Map<T, number>();
  #timer: AbortController | undefined;
  #disposed = false;

  /** `leave` gets the things whose linger ended, together, in the order they were let go. */
  constructor(lingerMs: number, clock: Clock, leave: (gone: readonly T[]) => void) {
    this.#lingerMs = lingerMs;
    this.#clock = clock;
    this.#leave = leave;
  }

  /** Starts (or starts again) the linger of `item`. */
  letGo(item: T): void {
    if (this.#disposed) return;
    this.#waiting.delete(item);
    this.#waiting.set(item, this.#clock.now() + this.#lingerMs);
    this.#arm();
  }

  /** Takes `item` back before it leaves; false when it was not lingering. */
  takeBack(item: T): boolean {
    return this.#waiting.delete(item);
  }

  /** Stops the timer; nothing leaves any more. Idempotent. */
  dispose(): void {
    this.#disposed = true;
    this.#timer?.abort();
    this.#waiting.clear();
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#disposed) return;
    const first = this.#waiting.values().next();
    if (first.done === true) return;
    const controller = new AbortController();
    this.#timer = controller;
    void this.#clock
      .sleep(Math.max(0, first.value - this.#clock.now()), controller.signal)
      .then((elapsed) => {
        if (this.#timer === controller) this.#timer = undefined;
        if (!elapsed) return;
        const now = this.#clock.now();
        const gone: T[] = [];
        for (const [item, until] of this.#waiting) {
          if (until > now) break;
          this.#waiting.delete(item);
          gone.push(item);
        }
        if (gone.length > 0) this.#leave(gone);
        this.#arm();
      });
  }
}
