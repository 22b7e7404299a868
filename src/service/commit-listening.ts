import { systemClock, type Clock } from 'pokegate';
import type { NotificationListener } from 'pokegate/postgres';

/**
 * The commit-notice listener, open only while this replica has a use for it:
 * a company with a local subscriber, or a read that waited for a token in the
 * last `idleMs`. Every replica's listener hears every commit, and each notice
 * wakes it (about 0.1 ms of CPU, docs/interest-routing.md): a replica that
 * serves nobody closes its listener and hears nothing. While it is closed
 * (or opening), the gate and the read-after waits poll, as they do while a
 * listener reconnects.
 */
export interface CommitListening {
  /** Whether every commit from now on is heard (the gate's `progressLive`). */
  readonly live: boolean;
  /** Something needs the notices now: opens the listener if it is closed, and keeps it `idleMs` longer. */
  want(): void;
  /** A company got its first local subscriber (+1) or lost its last (-1): no idle close while any has one. */
  hold(change: 1 | -1): void;
  /** Resolves once the listener being opened has been handed over (it may not be live yet). */
  opened(): Promise<void>;
  /** Closes the listener for good. Idempotent. */
  close(): Promise<void>;
}

export interface CommitListeningOptions {
  /** Opens the listener (`readView.listenCommits`). */
  readonly open: () => Promise<NotificationListener>;
  /** Unused this long, with no company held, the listener closes. `Infinity`: it never does. */
  readonly idleMs: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

export function createCommitListening(options: CommitListeningOptions): CommitListening {
  const { open, idleMs, clock = systemClock } = options;
  let opening: Promise<NotificationListener> | undefined;
  let listener: NotificationListener | undefined;
  let holds = 0;
  let lastWanted = clock.now();
  let timer: AbortController | undefined;
  let closing: Promise<void> | undefined;

  const ensureOpen = (): void => {
    if (opening !== undefined || closing !== undefined) return;
    const started = open();
    opening = started;
    void started.then(
      (opened) => {
        if (opening === started) listener = opened;
      },
      () => {
        // A listener that could not open is tried again on the next want.
        if (opening === started) opening = undefined;
      },
    );
  };

  const closeListener = (): void => {
    const closed = opening;
    opening = undefined;
    listener = undefined;
    void closed?.then((opened) => opened.close()).catch(() => undefined);
  };

  /** One timer: at its end the listener closes if nothing held or wanted it meanwhile. */
  const armIdle = (): void => {
    if (timer !== undefined || holds > 0 || !Number.isFinite(idleMs) || closing !== undefined) return;
    const controller = new AbortController();
    timer = controller;
    const waitMs = Math.max(0, lastWanted + idleMs - clock.now());
    void clock.sleep(waitMs, controller.signal).then((elapsed) => {
      if (timer === controller) timer = undefined;
      if (!elapsed || holds > 0) return;
      if (clock.now() - lastWanted >= idleMs) closeListener();
      else armIdle();
    });
  };

  return {
    get live() {
      return listener?.live ?? false;
    },
    want() {
      lastWanted = clock.now();
      ensureOpen();
      armIdle();
    },
    hold(change) {
      holds += change;
      lastWanted = clock.now();
      if (holds > 0) ensureOpen();
      else armIdle();
    },
    async opened() {
      await opening?.catch(() => undefined);
    },
    close() {
      closing ??= (async () => {
        timer?.abort();
        const closed = opening;
        opening = undefined;
        listener = undefined;
        await closed?.then((opened) => opened.close()).catch(() => undefined);
      })();
      return closing;
    },
  };
}
