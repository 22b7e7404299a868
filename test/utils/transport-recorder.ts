import type { EventOutcome, ProjectedOutcome, TransportObserver } from 'pokegate';

export interface TransportRecorder extends Required<TransportObserver> {
  readonly events: { readonly outcome: EventOutcome; readonly routingKey: string }[];
  readonly consumingChanges: boolean[];
  readonly projections: ProjectedOutcome[];
  /** How many messages or deliveries ended with `outcome`. */
  count(outcome: EventOutcome | ProjectedOutcome): number;
}

/** A TransportObserver that keeps every event. */
export function transportRecorder(): TransportRecorder {
  const events: { outcome: EventOutcome; routingKey: string }[] = [];
  const consumingChanges: boolean[] = [];
  const projections: ProjectedOutcome[] = [];
  return {
    events,
    consumingChanges,
    projections,
    count: (outcome) =>
      events.filter((e) => e.outcome === outcome).length + projections.filter((o) => o === outcome).length,
    event: (e) => events.push({ outcome: e.outcome, routingKey: e.routingKey }),
    consuming: (e) => consumingChanges.push(e.consuming),
    projected: (e) => projections.push(e.outcome),
  };
}
