import type { EventOutcome, ProjectedOutcome, TransportObserver } from 'pokegate';

export interface TransportRecorder extends Required<TransportObserver> {
  readonly events: { readonly outcome: EventOutcome; readonly routingKey: string }[];
  readonly consumingChanges: boolean[];
  readonly projections: ProjectedOutcome[];
  /** Each `pokegate_interest_bindings` value reported, in order. */
  readonly bindingCounts: number[];
  /** The reasons of the keys whose patterns interest refused. */
  readonly refusals: string[];
  /** How many messages or deliveries ended with `outcome`. */
  count(outcome: EventOutcome | ProjectedOutcome): number;
}

/** A TransportObserver that keeps every event. */
export function transportRecorder(): TransportRecorder {
  const events: { outcome: EventOutcome; routingKey: string }[] = [];
  const consumingChanges: boolean[] = [];
  const projections: ProjectedOutcome[] = [];
  const bindingCounts: number[] = [];
  const refusals: string[] = [];
  return {
    events,
    consumingChanges,
    projections,
    bindingCounts,
    refusals,
    count: (outcome) =>
      events.filter((e) => e.outcome === outcome).length + projections.filter((o) => o === outcome).length,
    event: (e) => events.push({ outcome: e.outcome, routingKey: e.routingKey }),
    consuming: (e) => consumingChanges.push(e.consuming),
    projected: (e) => projections.push(e.outcome),
    bindings: (e) => bindingCounts.push(e.bindings),
    interestRefused: (e) => refusals.push(e.reason),
  };
}
