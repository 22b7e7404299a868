// The orders domain as the reference service sees it: the read view's rows and
// the payloads of its GraphQL types.

import type { OrderStatus } from './events.js';

export type { OrderStatus };

export interface Order {
  readonly id: string;
  readonly companyId: string;
  readonly status: OrderStatus;
  readonly total: number;
  readonly version: number;
  /** ISO 8601. */
  readonly updatedAt: string;
}

/** The poke: "refetch; this order (or, with `orderId` null, anything of this company) changed". */
export interface OrderChange {
  readonly companyId: string;
  readonly orderId: string | null;
  readonly removed: boolean;
  readonly version: number | null;
  /** The read-after token of (order, version); null on a resync poke. */
  readonly token: string | null;
}

/** What the gate's check needs of an order's row: its version, and whether it was removed. */ export interface OrderState {
  readonly version: number;
  readonly removed: boolean;
}

export interface WriteReceipt {
  readonly eventId: string;
  readonly orderId: string;
  readonly companyId: string;
  readonly version: number;
}

/** A resync poke for a subscriber of `companyId` (`"*"` for the admin view). */
export function resyncPoke(companyId: string): OrderChange {
  return { companyId, orderId: null, removed: false, version: null, token: null };
}
