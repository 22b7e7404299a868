import { systemClock } from '../core/clock.js';
import { abortReason } from '../transport/abort.js';
import type { OrderEvent } from '../transport/order-events.js';
import type { ProjectionContext, ProjectionHandlers, ProjectionOutcome } from '../transport/projector.js';
import type { ReadView } from './read-view.js';

export interface OrderProjectionOptions {
  readonly readView: Pick<ReadView, 'apply'>;
  /**
   * Demo only (`PROJECTION_DELAY_MS`): waits this long before each write, so
   * the read view visibly lags the events.
   * @default 0
   */
  readonly delayMs?: number;
  /**
   * Called after each commit that leaves the event's version in the read
   * view (`applied` or `duplicate`), e.g. to report progress to the gate. A
   * throw is ignored: the event is projected.
   */
  readonly onProjected?: (event: OrderEvent) => void;
}

/** The projector's handlers: every orders event goes through the read view's versioned apply. */
export function createOrderProjection(options: OrderProjectionOptions): ProjectionHandlers<OrderEvent> {
  const { readView, delayMs = 0, onProjected } = options;
  const apply = async (event: OrderEvent, context: ProjectionContext): Promise<ProjectionOutcome> => {
    if (delayMs > 0 && !(await systemClock.sleep(delayMs, context.signal))) throw abortReason(context.signal);
    const outcome = await readView.apply(event, { signal: context.signal });
    if (outcome !== 'early' && onProjected !== undefined) {
      try {
        onProjected(event);
      } catch {
        // A listener's failure is not the projection's.
      }
    }
    return outcome;
  };
  return { OrderPlaced: apply, OrderStatusChanged: apply, OrderRemoved: apply };
}
