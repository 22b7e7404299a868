import type { Registry as PromRegistry } from 'prom-client';
import { createGate, createRegistry, type Gate, type Registry } from 'pokegate';
import { createPrometheusObserver } from 'pokegate/prometheus';
import { createCommitListening } from './commit-listening.js';
import type { Config } from './config.js';
import type { OnClose } from './on-close.js';
import type { ReadView } from './orders/read-view.js';
import type { OrderChange } from './orders/types.js';
import { createOrdersReadAfter, type OrdersReadAfter } from './read-after.js';

/**
 * The service's poke path: the gate and the `ordersChanged` registry that
 * poke subscribers, the read-after tokens and their waits, and the one place
 * every commit report goes to wake them.
 */
export interface PokeWiring {
  readonly gate: Gate;
  readonly ordersChanged: Registry<OrderChange>;
  readonly tokens: OrdersReadAfter['tokens'];
  readonly readAfter: OrdersReadAfter['readAfter'];
  /** Where every commit report of this replica's read view goes. */
  readonly committed: (companyId: string, orderId: string, version: number) => void;
}

/** The gate, the registry and read-after, woken by every commit the read view reports. */
export async function createPokeWiring(
  config: Config,
  readView: ReadView,
  metrics: PromRegistry,
  onClose: OnClose,
): Promise<PokeWiring> {
  // Every replica's commits reach the gate as notices while the listener is
  // live: a poke then checks once, after its commit. While it is not, the
  // local projector's reports (`onProjected`) still end the first wait early.
  // The listener opens below, once the registry and read-after exist.
  const listening = createCommitListening({
    open: () =>
      readView.listenCommits(
        ({ companyId, orderId, version }) => {
          committed(companyId, orderId, version);
        },
        {
          // Every replica hears every company's commits: one without a local subscriber
          // of the company, and no read waiting, drops the commit before any other work.
          interested: (companyId) => readAfter.waiting > 0 || ordersChanged.hasReceivers(companyId),
        },
      ),
    // With interest routing a replica that serves nobody closes its listener
    // after the linger; with every event routed everywhere, it never does.
    idleMs: config.interest.routing === 'all' ? Infinity : config.interest.lingerMs,
  });
  onClose(() => listening.close());
  const gate: Gate = createGate({
    observer: createPrometheusObserver({ register: metrics, registries: ['ordersChanged'] }),
    awaitProgressMs: 10,
    progressLive: () => listening.live,
    fallbackMs: config.gateFallbackMs,
  });
  const ordersChanged: Registry<OrderChange> = createRegistry<OrderChange>({ name: 'ordersChanged', gate });
  onClose(() => {
    ordersChanged.dispose();
    gate.dispose();
  });
  const { tokens, readAfter } = createOrdersReadAfter({
    secret: config.authSecret,
    readView,
    timeoutMs: config.readAfterTimeoutMs,
    register: metrics,
    // A read waiting for a token wants the notices that wake it.
    waiting: () => {
      listening.want();
    },
  });
  onClose(() => readAfter.dispose());
  /**
   * Every commit report of this replica's read view goes here (the notices of
   * every replica's commits, and this replica's own projector's reports): it
   * wakes the pokes waiting in the gate and the reads waiting for their tokens.
   */
  const committed = (companyId: string, orderId: string, version: number): void => {
    ordersChanged.progress(companyId, orderId, version);
    readAfter.notify(orderId, version);
  };
  onClose(
    ordersChanged.watchKeys({
      added: () => {
        listening.hold(1);
      },
      removed: () => {
        listening.hold(-1);
      },
    }),
  );
  listening.want();
  await listening.opened();
  return { gate, ordersChanged, tokens, readAfter, committed };
}
