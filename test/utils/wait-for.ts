export interface WaitForOptions {
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** @default 5 */
  readonly intervalMs?: number;
}

/**
 * Polls `condition` until it returns true (or a truthy value, returned), and
 * fails with `what` after `timeoutMs`: a condition, not a sleep.
 */
export async function waitFor<T>(
  what: string,
  condition: () => T | false | undefined | Promise<T | false | undefined>,
  options: WaitForOptions = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 5 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== false && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
