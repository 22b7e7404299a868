// Stale reads, counted the way a client would meet one: on a sample of the
// pokes, the load generator asks for the poked order at once, as the refetch
// after a poke does, through the same load balancer (and with the same tenant
// hint). A poke announces an order at a version; a read that shows it older,
// or not at all, is stale.
import { withTenantHint } from 'pokegate/client';
import type { Poke } from '../compare/workload.js';

export interface ReadCheckSpec {
  /** The GraphQL endpoint over HTTP, e.g. the load balancer's `http://127.0.0.1:8080/graphql`. */
  readonly httpUrl: string;
  readonly authorization: string;
  /** Reads after one poke in this many. */
  readonly every: number;
  /** Names the poke's company as the `tenant` parameter of each read. */
  readonly tenantHint: boolean;
}

export interface ReadCheckResult {
  readonly reads: number;
  /** Reads that showed the order older than the poke said, or not at all. */
  readonly stale: number;
  /** Reads that failed outright (HTTP or GraphQL errors). */
  readonly failed: number;
  /** Samples let go because this many reads were already in flight. */
  readonly shed: number;
  /** Why the first few failed reads failed. */
  readonly failures: readonly string[];
}

/** Reads in flight at most: the check must not become the load. */
const maxInFlight = 64;

const orderQuery = 'query ($id: ID!) { order(id: $id) { version } }';

export function createReadCheck(spec: ReadCheckSpec) {
  const inFlight = new Set<Promise<void>>();
  let seen = 0;
  let reads = 0;
  let stale = 0;
  let failed = 0;
  let shed = 0;
  const failures: string[] = [];
  const fail = (why: string): void => {
    failed++;
    if (failures.length < 5) failures.push(why);
  };

  async function read(poke: Poke & { orderId: string; version: number }): Promise<void> {
    const search = `?query=${encodeURIComponent(orderQuery)}&variables=${encodeURIComponent(JSON.stringify({ id: poke.orderId }))}`;
    const url = withTenantHint(`${spec.httpUrl}${search}`, spec.tenantHint ? poke.companyId : undefined);
    try {
      const response = await fetch(url, { headers: { authorization: spec.authorization } });
      const body = (await response.json()) as {
        data?: { order: { version: number } | null };
        errors?: unknown;
      };
      if (response.status !== 200 || body.errors !== undefined) {
        fail(`HTTP ${response.status}: ${JSON.stringify(body.errors)}`);
      } else if ((body.data?.order?.version ?? 0) < poke.version) stale++;
    } catch (error) {
      fail(
        error instanceof Error
          ? `${error.message} ${error.cause instanceof Error ? error.cause.message : ''}`
          : String(error),
      );
    }
  }

  return {
    onPoke: (_subscriber: number, poke: Poke): void => {
      if (poke.orderId === null || poke.version === null || poke.removed) return;
      if (seen++ % spec.every !== 0) return;
      if (inFlight.size >= maxInFlight) {
        shed++;
        return;
      }
      reads++;
      const pending = read({ ...poke, orderId: poke.orderId, version: poke.version }).finally(() =>
        inFlight.delete(pending),
      );
      inFlight.add(pending);
    },
    async result(): Promise<ReadCheckResult> {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      return { reads, stale, failed, shed, failures };
    },
  };
}
