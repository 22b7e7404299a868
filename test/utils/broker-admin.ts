import { afterAll, afterEach, beforeEach } from 'vitest';
import { openAdmin, type Admin } from './amqp.js';

/** A test file's broker admin and what its tests leave to clean up. */
export interface BrokerFixture {
  /** The admin, opened before each test. */
  readonly admin: Admin;
  /** Run after each test, the newest first: the publishers, consumers and projectors it started. */
  readonly closers: (() => Promise<void> | void)[];
  /** Deleted after the file: queues no exchange deletion removes (projectors' queues). */
  readonly queues: string[];
  /** Deleted after the file. */
  readonly exchanges: string[];
}

/**
 * Registers the hooks of a test file that talks to the broker beside the code
 * under test. The admin connection opens in each test, not once for the file,
 * so an unreachable broker fails every test rather than skipping it; it is
 * opened once and shared, and closed after the file has deleted what it made.
 */
export function useBrokerAdmin(): BrokerFixture {
  let connecting: Promise<Admin> | undefined;
  let opened: Admin | undefined;
  const closers: (() => Promise<void> | void)[] = [];
  const queues: string[] = [];
  const exchanges: string[] = [];
  beforeEach(async () => {
    connecting ??= openAdmin();
    opened = await connecting;
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  afterAll(async () => {
    if (connecting === undefined) return;
    const admin = await connecting;
    await admin.deleteQueues(queues);
    for (const exchange of exchanges) await admin.deleteExchange(exchange);
    await admin.close();
  });
  return {
    get admin() {
      if (opened === undefined) throw new Error('The broker admin opens before each test: use it inside one');
      return opened;
    },
    closers,
    queues,
    exchanges,
  };
}
