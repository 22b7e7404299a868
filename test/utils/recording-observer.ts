import type { Observer } from 'pokegate';

type Events = { [K in keyof Required<Observer>]: Parameters<Required<Observer>[K]>[0][] };

/** An observer that keeps every event, by hook. */
export function recordingObserver(): Observer & { readonly events: Events } {
  const events: Events = {
    delivered: [],
    dropped: [],
    skipped: [],
    gateCheck: [],
    fallbackCheck: [],
    visible: [],
    retry: [],
    coalesced: [],
    resync: [],
    queueDepth: [],
    receivers: [],
  };
  return {
    events,
    delivered: (e) => events.delivered.push(e),
    dropped: (e) => events.dropped.push(e),
    skipped: (e) => events.skipped.push(e),
    gateCheck: (e) => events.gateCheck.push(e),
    fallbackCheck: (e) => events.fallbackCheck.push(e),
    visible: (e) => events.visible.push(e),
    retry: (e) => events.retry.push(e),
    coalesced: (e) => events.coalesced.push(e),
    resync: (e) => events.resync.push(e),
    queueDepth: (e) => events.queueDepth.push(e),
    receivers: (e) => events.receivers.push(e),
  };
}
