import { guardHook, systemClock } from 'pokegate';
import { abortReason } from 'pokegate';
import type { OrderEvent } from './events.js';
import type { BatchProjection } from 'pokegate';
import type { ReadView } from './read-view.js';

export interface OrderProjectionOptions {
  readonly readView: Pick<ReadView, 'applyBatch'>;
  /**
   * Demo only (`PROJECTION_DELAY_MS`): waits this long before each batch's
   * write, so the read view visibly lags the events.
   * @default 0
   */
  readonly delayMs?: number;
  /**
   * Called after the batch's commit for each event whose version is now in
   * the read view (`applied` or `duplicate`), e.g. to report progress to the
   * gate. A throw is ignored: the event is projected.
   */
  readonly onProjected?: (event: OrderEvent) => void;
}

/** The projector's batch projection: every orders event goes through the read view's versioned batch apply. */
export function createOrderProjection(options: OrderProjectionOptions): BatchProjection<OrderEvent> {
  const { readView, delayMs = 0 } = options;
  // A listener's failure is not the projection's.
  const onProjected = options.onProjected === undefined ? undefined : guardHook(options, 'onProjected');
  return async (events, context) => {
    if (delayMs > 0 && !(await systemClock.sleep(delayMs, context.signal))) throw abortReason(context.signal);
    const results = await readView.applyBatch(events, { signal: context.signal });
    if (onProjected !== undefined) {
      results.forEach((result, i) => {
        if (result !== 'applied' && result !== 'duplicate') return;
        onProjected(events[i] as OrderEvent);
      });
    }
    return results;
  };
}
