import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitChannel, decodeCommitNotice } from '../../src/service/orders/commit-notice.js';
import {
  InvalidOrderEventError,
  ReadViewClosedError,
  ReadViewStartError,
} from '../../src/service/orders/errors.js';
import {
  createReadView,
  isVisible,
  type ApplyOutcome,
  type ReadView,
  type ReadViewOptions,
} from '../../src/service/orders/read-view.js';
import type { OrderCommit } from '../../src/service/orders/commit-notice.js';
import type { OrderStatus } from '../../src/service/orders/types.js';
import type { OrderEvent } from '../../src/service/orders/events.js';
import { captureLogs } from '../utils/log-capture.js';
import { connect, databaseUrl, dropSchema, uniqueSchema } from '../utils/postgres.js';
import { waitFor } from '../utils/wait-for.js';

// ---- events ----------------------------------------------------------------

let orders = 0;

/** A fresh order and company id per test, so tests share one view without seeing each other. */
function fresh(): { readonly orderId: string; readonly companyId: string } {
  orders++;
  return { orderId: `o${orders}`, companyId: `c${orders}` };
}

function at(version: number): string {
  return new Date(Date.UTC(2026, 0, 1, 0, 0, version)).toISOString();
}

type Ids = { readonly orderId: string; readonly companyId: string };

function placed(ids: Ids, total = 12.5): OrderEvent {
  return {
    ...ids,
    eventId: `${ids.orderId}-1`,
    type: 'OrderPlaced',
    version: 1,
    occurredAt: at(1),
    data: { total, status: 'PLACED' },
  };
}

function statusChanged(ids: Ids, version: number, status: OrderStatus, total?: number): OrderEvent {
  return {
    ...ids,
    eventId: `${ids.orderId}-${version}`,
    type: 'OrderStatusChanged',
    version,
    occurredAt: at(version),
    data: total === undefined ? { status } : { status, total },
  };
}

function removed(ids: Ids, version: number): OrderEvent {
  return {
    ...ids,
    eventId: `${ids.orderId}-${version}`,
    type: 'OrderRemoved',
    version,
    occurredAt: at(version),
  };
}

const open = new Set<{ close(): Promise<void> }>();

/** Tracks what a suite opens, so that `afterAll` closes it even when `beforeAll` failed half way. */
function opened<T extends { close(): Promise<void> }>(resource: T): T {
  open.add(resource);
  return resource;
}

async function closeAll(): Promise<void> {
  const resources = [...open];
  open.clear();
  const failed = (await Promise.allSettled(resources.map((resource) => resource.close()))).find(
    (result) => result.status === 'rejected',
  );
  if (failed !== undefined) throw failed.reason;
}

function sorted(outcomes: readonly ApplyOutcome[]): ApplyOutcome[] {
  return [...outcomes].sort();
}

// ---- the contract, on both backends -----------------------------------------

interface Backend {
  readonly name: string;
  readonly start: (schema: string) => Promise<ReadView>;
  readonly drop: (schema: string) => Promise<void>;
}

const backends: Backend[] = [
  // In memory: the schema goes with the instance.
  { name: 'embedded PGlite', start: (schema) => createReadView({ schema }), drop: () => Promise.resolve() },
  { name: 'PostgreSQL', start: (schema) => createReadView({ databaseUrl, schema }), drop: dropSchema },
];

describe.each(backends)('read view on $name', ({ start, drop }) => {
  const schema = uniqueSchema('read_view');
  let view: ReadView;

  beforeAll(async () => {
    view = opened(await start(schema));
  });
  afterAll(async () => {
    try {
      await closeAll();
    } finally {
      await drop(schema);
    }
  });

  it('places an order at version 1 and reads it back', async () => {
    const ids = fresh();
    expect(await view.apply(placed(ids, 12.5))).toBe('applied');
    expect(await view.order(ids.orderId)).toEqual({
      id: ids.orderId,
      companyId: ids.companyId,
      status: 'PLACED',
      total: 12.5,
      version: 1,
      updatedAt: '2026-01-01T00:00:01.000Z',
    });
    expect(await view.orderState(ids.orderId)).toEqual({ version: 1, removed: false });
  });

  it('applies versions in order, and a repeated version is a duplicate that changes nothing', async () => {
    const ids = fresh();
    const outcomes = [
      await view.apply(placed(ids)),
      await view.apply(statusChanged(ids, 2, 'PAID')),
      await view.apply(statusChanged(ids, 3, 'SHIPPED', 20)),
      await view.apply(statusChanged(ids, 2, 'PAID')),
      await view.apply(placed(ids, 99)),
    ];
    expect(outcomes).toEqual(['applied', 'applied', 'applied', 'duplicate', 'duplicate']);
    expect(await view.order(ids.orderId)).toMatchObject({
      status: 'SHIPPED',
      total: 20,
      version: 3,
      updatedAt: at(3),
    });
  });

  it('leaves an early version unapplied until its predecessor is there', async () => {
    const ids = fresh();
    expect(await view.apply(statusChanged(ids, 2, 'PAID'))).toBe('early');
    expect(await view.orderState(ids.orderId)).toBeNull();
    expect(await view.apply(placed(ids))).toBe('applied');
    expect(await view.apply(statusChanged(ids, 3, 'SHIPPED'))).toBe('early');
    expect(await view.order(ids.orderId)).toMatchObject({ status: 'PLACED', version: 1 });
    expect(await view.apply(statusChanged(ids, 2, 'PAID'))).toBe('applied');
    expect(await view.apply(statusChanged(ids, 3, 'SHIPPED'))).toBe('applied');
    expect(await view.order(ids.orderId)).toMatchObject({ status: 'SHIPPED', version: 3 });
  });

  it("keeps a removed order's version while reads return null", async () => {
    const ids = fresh();
    await view.apply(placed(ids));
    expect(await view.apply(removed(ids, 2))).toBe('applied');
    expect(await view.order(ids.orderId)).toBeNull();
    expect(await view.orders(ids.companyId)).toEqual([]);
    const state = await view.orderState(ids.orderId);
    expect(state).toEqual({ version: 2, removed: true });
    expect(isVisible(state, 2)).toBe(true);
    expect(await view.apply(removed(ids, 2))).toBe('duplicate');
    // A later version advances the version but never brings the order back.
    expect(await view.apply(statusChanged(ids, 3, 'CANCELLED'))).toBe('applied');
    expect(await view.order(ids.orderId)).toBeNull();
    expect(await view.orderState(ids.orderId)).toEqual({ version: 3, removed: true });
  });

  it('says a change is visible only once its version is there', async () => {
    const ids = fresh();
    expect(isVisible(await view.orderState(ids.orderId), 1)).toBe(false);
    await view.apply(placed(ids));
    expect(isVisible(await view.orderState(ids.orderId), 1)).toBe(true);
    expect(isVisible(await view.orderState(ids.orderId), 2)).toBe(false);
  });

  it('returns null for an order it has never seen', async () => {
    expect(await view.order('never-placed')).toBeNull();
    expect(await view.orderState('never-placed')).toBeNull();
  });

  it('lists a company\'s orders in the order they were placed, and every company\'s for "*"', async () => {
    const { companyId } = fresh();
    const other = fresh();
    const first = { orderId: `${companyId}-z`, companyId };
    const second = { orderId: `${companyId}-a`, companyId };
    const gone = { orderId: `${companyId}-gone`, companyId };
    await view.apply({ ...placed(first), occurredAt: at(1) });
    await view.apply({ ...placed(second), occurredAt: at(2) });
    await view.apply(placed(gone));
    await view.apply(removed(gone, 2));
    await view.apply(placed(other));

    const own = await view.orders(companyId);
    expect(own.map((order) => order.id)).toEqual([first.orderId, second.orderId]);
    expect(own.every((order) => order.companyId === companyId)).toBe(true);

    const all = (await view.orders('*')).map((order) => order.id);
    expect(all).toEqual(expect.arrayContaining([first.orderId, second.orderId, other.orderId]));
    expect(all).not.toContain(gone.orderId);
    expect(all.indexOf(first.orderId)).toBeLessThan(all.indexOf(second.orderId));
    expect(await view.orders('no-such-company')).toEqual([]);
  });

  it("refuses an event that contradicts the order's history, writing nothing", async () => {
    const ids = fresh();
    await expect(view.apply(statusChanged(ids, 1, 'PAID'))).rejects.toThrow(InvalidOrderEventError);
    await expect(view.apply({ ...placed(ids), version: 2 })).rejects.toThrow(/placed at version 1/);
    expect(await view.orderState(ids.orderId)).toBeNull();

    await view.apply(placed(ids));
    const thief = { ...statusChanged(ids, 2, 'PAID'), companyId: 'another-company' };
    await expect(view.apply(thief)).rejects.toThrow(`the order belongs to company "${ids.companyId}"`);
    expect(await view.order(ids.orderId)).toMatchObject({ companyId: ids.companyId, version: 1 });
  });

  it('applies each version once when the same events are applied at once', async () => {
    const ids = fresh();
    expect(sorted(await Promise.all([view.apply(placed(ids)), view.apply(placed(ids))]))).toEqual([
      'applied',
      'duplicate',
    ]);
    const paid = statusChanged(ids, 2, 'PAID');
    expect(sorted(await Promise.all([view.apply(paid), view.apply(paid), view.apply(paid)]))).toEqual([
      'applied',
      'duplicate',
      'duplicate',
    ]);
  });

  it('applies a batch mixing orders, duplicates and versions out of order in one call', async () => {
    const a = fresh();
    const b = fresh();
    const c = fresh();
    await view.apply(placed(c));
    const results = await view.applyBatch([
      statusChanged(a, 2, 'PAID', 20),
      placed(b, 5),
      statusChanged(a, 3, 'SHIPPED'),
      placed(a, 10),
      placed(a, 10),
      removed(b, 2),
      statusChanged(c, 3, 'PAID'),
      placed(c),
      statusChanged(a, 3, 'SHIPPED'),
    ]);
    expect(results).toEqual([
      'applied',
      'applied',
      'applied',
      'applied',
      'duplicate',
      'applied',
      'early',
      'duplicate',
      'duplicate',
    ]);
    expect(await view.order(a.orderId)).toMatchObject({
      status: 'SHIPPED',
      total: 20,
      version: 3,
      updatedAt: at(3),
    });
    expect(await view.orderState(b.orderId)).toEqual({ version: 2, removed: true });
    expect(await view.order(b.orderId)).toBeNull();
    expect(await view.orderState(c.orderId)).toEqual({ version: 1, removed: false });
    expect(await view.applyBatch([])).toEqual([]);
  });

  it("fails only the event that contradicts its order's history; the rest of the batch commits", async () => {
    const ids = fresh();
    const other = fresh();
    await view.apply(placed(ids));
    const thief = { ...statusChanged(ids, 2, 'PAID'), companyId: 'another-company' };
    const [stolen, misplaced, fine, after] = await view.applyBatch([
      thief,
      { ...placed(other), version: 2 },
      placed(other),
      statusChanged(ids, 3, 'PAID'),
    ]);
    expect(stolen).toBeInstanceOf(InvalidOrderEventError);
    expect(misplaced).toBeInstanceOf(InvalidOrderEventError);
    expect([fine, after]).toEqual(['applied', 'early']);
    expect(await view.orderState(ids.orderId)).toEqual({ version: 1, removed: false });
    expect(await view.orderState(other.orderId)).toEqual({ version: 1, removed: false });
  });

  it('rejects a call whose signal has already aborted with its reason', async () => {
    const controller = new AbortController();
    controller.abort(new Error('budget spent'));
    const { signal } = controller;
    const ids = fresh();
    await expect(view.order(ids.orderId, { signal })).rejects.toThrow('budget spent');
    await expect(view.orderState(ids.orderId, { signal })).rejects.toThrow('budget spent');
    await expect(view.orders(ids.companyId, { signal })).rejects.toThrow('budget spent');
    await expect(view.ping({ signal })).rejects.toThrow('budget spent');
    await expect(view.apply(placed(ids), { signal })).rejects.toThrow('budget spent');
    expect(await view.orderState(ids.orderId)).toBeNull();
  });

  it('announces each applied version to commit listeners, and nothing for a duplicate or an early one', async () => {
    const ids = fresh();
    const heard: OrderCommit[] = [];
    const listener = opened(await view.listenCommits((commit) => heard.push(commit)));
    await waitFor('the listener to be live', () => listener.live);
    await view.apply(statusChanged(ids, 2, 'PAID')); // early
    await view.apply(placed(ids));
    await view.apply(placed(ids)); // duplicate
    await view.apply(statusChanged(ids, 2, 'PAID'));
    // Notices arrive in commit order: one for the duplicate or the early one would come before v2's.
    await waitFor('the notice of v2', () => heard.some((commit) => commit.version === 2));
    expect(heard).toEqual([
      { ...ids, version: 1, removed: false },
      { ...ids, version: 2, removed: false },
    ]);
    await listener.close();
    expect(listener.live).toBe(false);
  });

  it('drops the commits of companies it is not interested in, right after the decode', async () => {
    const wanted = fresh();
    const other = fresh();
    const heard: OrderCommit[] = [];
    const asked: string[] = [];
    const listener = opened(
      await view.listenCommits((commit) => heard.push(commit), {
        interested: (companyId) => {
          asked.push(companyId);
          return companyId === wanted.companyId;
        },
      }),
    );
    await waitFor('the listener to be live', () => listener.live);
    await view.apply(placed(other));
    await view.apply(placed(wanted));
    await waitFor('the notice of the wanted company', () => heard.length === 1);
    expect(heard).toEqual([{ ...wanted, version: 1, removed: false }]);
    expect(asked).toEqual([other.companyId, wanted.companyId]);
    await listener.close();
  });

  it('answers a ping', async () => {
    await expect(view.ping()).resolves.toBeUndefined();
  });

  it('refuses every call once closed, and close is idempotent', async () => {
    const own = opened(await start(schema));
    const closing = own.close();
    expect(own.close()).toBe(closing);
    await expect(own.order('o1')).rejects.toThrow(ReadViewClosedError);
    await expect(own.apply(placed(fresh()))).rejects.toThrow(ReadViewClosedError);
    await closing;
    await expect(own.ping()).rejects.toThrow(/read view \((postgres|pglite)\) is closed/);
    await own[Symbol.asyncDispose]();
  });
});

// ---- replicas on one PostgreSQL ----------------------------------------------

/**
 * Backends of this schema's statements waiting for a row or transaction lock.
 * Ask from a connection outside any transaction: inside one, PostgreSQL keeps
 * showing the first snapshot of pg_stat_activity.
 */
async function lockWaiters(client: pg.Client, schema: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE wait_event_type = 'Lock' AND datname = current_database() AND position($1 in query) > 0`,
    [`"${schema}".orders`],
  );
  return rows[0]?.n ?? 0;
}

/** A deterministic shuffle, so a failure replays. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** What a projector replica does: apply everything, retrying early events until none is left. */
async function project(view: ReadView, events: readonly OrderEvent[]): Promise<ApplyOutcome[]> {
  const outcomes: ApplyOutcome[] = [];
  let pending = events;
  for (let round = 0; pending.length > 0; round++) {
    if (round > events.length) throw new Error(`${pending.length} events stayed early`);
    const early: OrderEvent[] = [];
    for (const event of pending) {
      const outcome = await view.apply(event);
      if (outcome === 'early') early.push(event);
      else outcomes.push(outcome);
    }
    pending = early;
  }
  return outcomes;
}

describe('read view replicas on one PostgreSQL', () => {
  const schema = uniqueSchema('read_view_replicas');
  let a: ReadView;
  let b: ReadView;
  /** Holds the locks that make the replicas wait. */
  let blocker: pg.Client;
  /** Watches them wait. */
  let watcher: pg.Client;

  beforeAll(async () => {
    // Two replicas starting at the same moment, on one schema.
    [a, b] = await Promise.all([
      createReadView({ databaseUrl, schema, maxConnections: 4 }).then(opened),
      createReadView({ databaseUrl, schema, maxConnections: 4 }).then(opened),
    ]);
    [blocker, watcher] = await Promise.all([connect(), connect()]);
    opened({ close: () => blocker.end() });
    opened({ close: () => watcher.end() });
  });
  afterAll(async () => {
    try {
      await closeAll();
    } finally {
      await dropSchema(schema);
    }
  });

  it("hears the other replica's commits, and again after its listening connection is terminated", async () => {
    const applicationName = `pokegate ${schema}`;
    const listening = opened(await createReadView({ databaseUrl, schema, applicationName }));
    const heard: OrderCommit[] = [];
    const listener = opened(await listening.listenCommits((commit) => heard.push(commit)));
    await waitFor('the listener to be live', () => listener.live);
    const ids = fresh();
    await a.apply(placed(ids));
    await waitFor('the notice of v1', () => heard.some((commit) => commit.version === 1));

    const { rows } = await watcher.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
      [`${applicationName} listener`],
    );
    expect(rows).toHaveLength(1);
    await watcher.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
    await waitFor('the listener to notice the loss', () => !listener.live);
    await waitFor('the listener to be live again', () => listener.live);
    await b.apply(statusChanged(ids, 2, 'PAID'));
    await waitFor('the notice of v2', () => heard.some((commit) => commit.version === 2));
    expect(heard).toEqual([
      { ...ids, version: 1, removed: false },
      { ...ids, version: 2, removed: false },
    ]);
  });

  it("answers a state at least as new as the caller waits for from the other replica's notice, without a query", async () => {
    const listening = opened(await createReadView({ databaseUrl, schema }));
    const heard: OrderCommit[] = [];
    const listener = opened(await listening.listenCommits((commit) => heard.push(commit)));
    await waitFor('the listener to be live', () => listener.live);
    const ids = fresh();
    await a.apply(placed(ids));
    await a.apply(removed(ids, 2));
    await waitFor('the notice of v2', () => heard.some((commit) => commit.version === 2));
    expect(heard.at(-1)).toEqual({ ...ids, version: 2, removed: true });
    // Behind the view's back (no replica writes so), the row goes: only a query sees that.
    await watcher.query(`DELETE FROM "${schema}".orders WHERE id = $1`, [ids.orderId]);
    expect(await listening.orderState(ids.orderId, { atLeast: 2 })).toEqual({ version: 2, removed: true });
    expect(await listening.orderState(ids.orderId, { atLeast: 3 })).toBeNull();
    expect(await listening.orderState(ids.orderId)).toBeNull();
  });

  it('logs and skips a notice it cannot decode on its channel, and keeps listening', async () => {
    const logs = captureLogs();
    const listening = opened(await createReadView({ databaseUrl, schema, logger: logs.logger }));
    const heard: OrderCommit[] = [];
    const listener = opened(await listening.listenCommits((commit) => heard.push(commit)));
    await waitFor('the listener to be live', () => listener.live);
    await watcher.query('SELECT pg_notify($1, $2)', [listener.channel, 'not a notice']);
    const ids = fresh();
    await a.apply(placed(ids));
    await waitFor('the notice of v1', () => heard.length > 0);
    expect(heard).toEqual([{ ...ids, version: 1, removed: false }]);
    expect(logs.lines).toContainEqual(
      expect.objectContaining({
        msg: 'ignored a commit notice in an unknown format',
        payload: 'not a notice',
      }),
    );
  });

  it('places an order once when two replicas insert it at the same moment', async () => {
    const ids = fresh();
    // An uncommitted row with the same id makes both replicas' inserts wait on it.
    await blocker.query('BEGIN');
    await blocker.query(
      `INSERT INTO "${schema}".orders (id, company_id, status, total, version, placed_at, updated_at)
       VALUES ($1, $2, 'PLACED', -1, 1, now(), now())`,
      [ids.orderId, ids.companyId],
    );
    const racing = Promise.all([a.apply(placed(ids, 7)), b.apply(placed(ids, 7))]);
    await waitFor(
      'both replicas to wait for the row',
      async () => (await lockWaiters(watcher, schema)) === 2,
    );
    await blocker.query('ROLLBACK');

    expect(sorted(await racing)).toEqual(['applied', 'duplicate']);
    expect(await a.order(ids.orderId)).toMatchObject({ total: 7, version: 1 });
  });

  it('applies a version once when two replicas update the order at the same moment', async () => {
    const ids = fresh();
    await a.apply(placed(ids));
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM "${schema}".orders WHERE id = $1 FOR UPDATE`, [ids.orderId]);
    const paid = statusChanged(ids, 2, 'PAID');
    const racing = Promise.all([a.apply(paid), b.apply(paid)]);
    await waitFor(
      'both replicas to wait for the row lock',
      async () => (await lockWaiters(watcher, schema)) === 2,
    );
    await blocker.query('COMMIT');

    expect(sorted(await racing)).toEqual(['applied', 'duplicate']);
    expect(await b.order(ids.orderId)).toMatchObject({ status: 'PAID', version: 2 });
  });

  it('converges when two replicas apply a shuffled, redelivered stream', async () => {
    const streams = Array.from({ length: 20 }, (_, n) => {
      const ids = fresh();
      const events = [placed(ids, n), statusChanged(ids, 2, 'PAID'), statusChanged(ids, 3, 'SHIPPED')];
      return n % 4 === 0 ? [...events, removed(ids, 4)] : events;
    });
    const events = streams.flat();
    const [fromA, fromB] = await Promise.all([
      project(a, shuffle([...events, ...events.slice(0, 10)], 1)),
      project(b, shuffle(events, 2)),
    ]);

    const outcomes = [...fromA, ...fromB];
    expect(outcomes.filter((outcome) => outcome === 'applied')).toHaveLength(events.length);
    expect(outcomes.filter((outcome) => outcome === 'duplicate')).toHaveLength(events.length + 10);
    for (const stream of streams) {
      const last = stream.at(-1);
      if (last === undefined) continue;
      expect(await b.orderState(last.orderId)).toEqual({
        version: last.version,
        removed: last.type === 'OrderRemoved',
      });
    }
  });

  it('converges without a deadlock when two replicas apply overlapping batches in opposite orders', async () => {
    const streams = Array.from({ length: 30 }, () => {
      const ids = fresh();
      return [placed(ids), statusChanged(ids, 2, 'PAID'), statusChanged(ids, 3, 'SHIPPED')];
    });
    const events = streams.flat();
    const [fromA, fromB] = await Promise.all([a.applyBatch(events), b.applyBatch([...events].reverse())]);
    const outcomes = [...fromA, ...fromB];
    expect(outcomes.filter((outcome) => outcome === 'applied')).toHaveLength(events.length);
    expect(outcomes.filter((outcome) => outcome === 'duplicate')).toHaveLength(events.length);
    for (const [first] of streams) {
      expect(await a.orderState(first?.orderId ?? '')).toEqual({ version: 3, removed: false });
    }
  });

  it("announces each order's newest committed version on the commit channel, only after the commit", async () => {
    const listener = await connect();
    opened({ close: () => listener.end() });
    const payloads: string[] = [];
    listener.on('notification', (message) => {
      if (message.channel === commitChannel(schema)) payloads.push(message.payload ?? '');
    });
    await listener.query(`LISTEN "${commitChannel(schema)}"`);
    const ids = fresh();
    const other = fresh();
    await a.applyBatch([placed(other)]);
    await waitFor('the first notice', () => payloads.length === 1);
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM "${schema}".orders WHERE id = $1 FOR UPDATE`, [other.orderId]);
    const applying = a.applyBatch([
      placed(ids),
      statusChanged(ids, 2, 'PAID'),
      placed(other),
      statusChanged(other, 2, 'PAID'),
      statusChanged(ids, 4, 'PAID'),
    ]);
    await waitFor(
      'the batch to wait for the row lock',
      async () => (await lockWaiters(watcher, schema)) === 1,
    );
    // Nothing is announced while the batch waits, nor for what it has not committed.
    await listener.query('SELECT 1');
    expect(payloads).toHaveLength(1);
    await blocker.query('COMMIT');
    expect(await applying).toEqual(['applied', 'applied', 'duplicate', 'applied', 'early']);
    await waitFor('the batch notice', () => payloads.length === 2);
    const notices = payloads.flatMap((payload) => decodeCommitNotice(payload) ?? []);
    // One payload per write, its orders in id order.
    const batchNotices = [
      { companyId: ids.companyId, orderId: ids.orderId, version: 2, removed: false },
      { companyId: other.companyId, orderId: other.orderId, version: 2, removed: false },
    ].sort((x, y) => (x.orderId < y.orderId ? -1 : 1));
    expect(notices).toEqual([
      { companyId: other.companyId, orderId: other.orderId, version: 1, removed: false },
      ...batchNotices,
    ]);
    // A batch that changes nothing announces nothing.
    await a.applyBatch([placed(ids)]);
    await listener.query('SELECT 1');
    expect(payloads).toHaveLength(2);
  });

  it('answers an apply whose signal aborts while its write waits for the row at once; the write stands, and a retry finds it', async () => {
    const ids = fresh();
    await a.apply(placed(ids));
    const c = opened(await createReadView({ databaseUrl, schema, maxConnections: 1 }));
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM "${schema}".orders WHERE id = $1 FOR UPDATE`, [ids.orderId]);
    const controller = new AbortController();
    const paid = statusChanged(ids, 2, 'PAID');
    const applying = c.apply(paid, { signal: controller.signal });
    await waitFor(
      'the apply to wait for the row lock',
      async () => (await lockWaiters(watcher, schema)) === 1,
    );
    controller.abort(new Error('handler timed out'));
    await expect(applying).rejects.toThrow('handler timed out');
    await blocker.query('COMMIT');
    // close() waits for the write the caller gave up on.
    await c.close();
    expect(await a.orderState(ids.orderId)).toEqual({ version: 2, removed: false });
    expect(await a.apply(paid)).toBe('duplicate');
  });

  it('writes nothing for an apply whose signal aborts before its write', async () => {
    const ids = fresh();
    await a.apply(placed(ids));
    const c = opened(await createReadView({ databaseUrl, schema, maxConnections: 1 }));
    const controller = new AbortController();
    // Aborted while the batch's rows are read: the write is never sent.
    const applying = c.apply(statusChanged(ids, 2, 'PAID'), { signal: controller.signal });
    controller.abort(new Error('handler timed out'));
    await expect(applying).rejects.toThrow('handler timed out');
    // close() waits for the call the caller gave up on.
    await c.close();
    expect(await a.orderState(ids.orderId)).toEqual({ version: 1, removed: false });
  });

  it('waits for calls in flight before it closes', async () => {
    const ids = fresh();
    await a.apply(placed(ids));
    const c = opened(await createReadView({ databaseUrl, schema }));
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM "${schema}".orders WHERE id = $1 FOR UPDATE`, [ids.orderId]);
    const applying = c.apply(statusChanged(ids, 2, 'PAID'));
    await waitFor(
      'the apply to wait for the row lock',
      async () => (await lockWaiters(watcher, schema)) === 1,
    );
    let closed = false;
    const closing = c.close().then(() => {
      closed = true;
    });
    await expect(c.order(ids.orderId)).rejects.toThrow(ReadViewClosedError);
    expect(closed).toBe(false);
    await blocker.query('COMMIT');
    await closing;
    expect(await applying).toBe('applied');
  });

  it('creates its schema safely when replicas start at the same moment', async () => {
    const fresh = uniqueSchema('read_view_start');
    try {
      const views = await Promise.all(
        Array.from({ length: 4 }, () =>
          createReadView({ databaseUrl, schema: fresh, maxConnections: 1 }).then(opened),
        ),
      );
      await Promise.all(views.map((view) => view.close()));
    } finally {
      await dropSchema(fresh);
    }
  });

  it('fails to start, naming the database but not the password, when PostgreSQL is unreachable', async () => {
    const start = createReadView({
      databaseUrl: 'postgres://postgres:hunter2@127.0.0.1:1/test',
      connectionTimeoutMs: 2_000,
    });
    const error: unknown = await start.catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ReadViewStartError);
    expect((error as Error).message).toMatch(
      /^The read view could not start on postgres:\/\/127\.0\.0\.1:1\/test: /,
    );
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('createReadView options', () => {
  it.each<[string, ReadViewOptions, RegExp]>([
    ['a schema that is not an identifier', { schema: 'orders; DROP TABLE x' }, /`schema`/],
    ['a database URL of another protocol', { databaseUrl: 'mysql://db/x' }, /`databaseUrl`/],
    ['a database URL that is not a URL', { databaseUrl: 'not a url' }, /`databaseUrl`/],
    ['no connections', { databaseUrl, maxConnections: 0 }, /`maxConnections`/],
    ['a negative statement timeout', { databaseUrl, statementTimeoutMs: -1 }, /`statementTimeoutMs`/],
    ['an empty data directory', { dataDir: '' }, /`dataDir`/],
  ])('refuses %s with a TypeError before it connects', async (_, options, message) => {
    const error: unknown = await createReadView(options).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(message);
  });
});
