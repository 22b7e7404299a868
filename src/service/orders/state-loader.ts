import type { OrderState } from './types.js';
import type { SqlClient } from './sql-client.js';

/**
 * The gate's visibility reads of one synchronous run, as one query: a commit
 * notice wakes the checks of every order it names at once, and each would
 * otherwise make its own round trip (`id = ANY($1)` instead of `id = $1`).
 */
export function createStateLoader(
  client: Pick<SqlClient, 'query'>,
  statesStatement: string,
): (id: string) => Promise<OrderState | null> {
  let waiting = new Map<string, ((state: Promise<OrderState | null>) => void)[]>();

  const flush = (): void => {
    const batch = waiting;
    waiting = new Map();
    // One lookup table per batch, not a scan of the rows per waiting read.
    const states = client
      .query<OrderState & { readonly id: string }>(statesStatement, [[...batch.keys()]])
      .then((rows) => new Map(rows.map(({ id, version, removed }) => [id, { version, removed }])));
    for (const [id, resolvers] of batch) {
      const state = states.then((found) => found.get(id) ?? null);
      for (const resolve of resolvers) resolve(state);
    }
  };

  return (id) =>
    new Promise((resolve) => {
      if (waiting.size === 0) queueMicrotask(flush);
      const resolvers = waiting.get(id);
      if (resolvers === undefined) waiting.set(id, [resolve]);
      else resolvers.push(resolve);
    });
}
