import { tenantWord } from 'pokegate';
import { z } from 'zod';

// The orders events of the reference service, as the owning service publishes
// them onto the topic exchange (see DESIGN.md, "The reference service").

export type OrderStatus = 'PLACED' | 'PAID' | 'SHIPPED' | 'CANCELLED';

interface OrderEventBase {
  /** Unique per event, e.g. a UUID. */
  readonly eventId: string;
  readonly companyId: string;
  readonly orderId: string;
  /** Counts from 1 per order; the projector applies version n only after n - 1. */
  readonly version: number;
  /** ISO 8601, when the owning service made the change. */
  readonly occurredAt: string;
}

export interface OrderPlaced extends OrderEventBase {
  readonly type: 'OrderPlaced';
  readonly data: { readonly total: number; readonly status: OrderStatus };
}

export interface OrderStatusChanged extends OrderEventBase {
  readonly type: 'OrderStatusChanged';
  readonly data: { readonly status: OrderStatus; readonly total?: number | undefined };
}

export interface OrderRemoved extends OrderEventBase {
  readonly type: 'OrderRemoved';
  readonly data?: Readonly<Record<string, unknown>> | undefined;
}

export type OrderEvent = OrderPlaced | OrderStatusChanged | OrderRemoved;

/**
 * The version-1 routing key of each event type, which names no tenant. An
 * event is published with it followed by its company's routing-key word
 * (see `orderRoutingKey`); events still published with the bare version-1
 * key reach every replica.
 */
export const orderRoutingKeys = Object.freeze({
  OrderPlaced: 'orders.placed',
  OrderStatusChanged: 'orders.status_changed',
  OrderRemoved: 'orders.removed',
} as const satisfies Record<OrderEvent['type'], string>);

/** The binding key that matches every orders event, with or without its tenant: the projector's. */
export const orderBindingKey = 'orders.#';

/** The binding key of the version-1 keys (no tenant): every replica's transient queue has it. */
export const orderVersion1BindingKey = 'orders.*';

/** `orders.<event>.<tenant>`: the company's routing-key word after the event's version-1 key. */
export function orderRoutingKey(event: OrderEvent): string {
  return `${orderRoutingKeys[event.type]}.${tenantWord(event.companyId)}`;
}

/** The binding patterns of one company's events, whatever their type. */
export function companyBindingKeys(companyId: string): readonly string[] {
  return [`orders.*.${tenantWord(companyId)}`];
}

const id = z.string().min(1).max(200);
const status = z.enum(['PLACED', 'PAID', 'SHIPPED', 'CANCELLED']);
const base = {
  eventId: id,
  companyId: id,
  orderId: id,
  version: z.int().min(1),
  occurredAt: z.iso.datetime({ offset: true }),
};

/**
 * The orders event schema (a zod schema, hence a Standard Schema for
 * `createEventParser`). Unknown fields are tolerated and dropped, so the owning
 * service can add some without breaking this one.
 */
export const orderEventSchema: z.ZodType<OrderEvent> = z.discriminatedUnion('type', [
  z.object({
    ...base,
    type: z.literal('OrderPlaced'),
    data: z.object({ total: z.number(), status }),
  }),
  z.object({
    ...base,
    type: z.literal('OrderStatusChanged'),
    data: z.object({ status, total: z.number().optional() }),
  }),
  z.object({
    ...base,
    type: z.literal('OrderRemoved'),
    data: z.record(z.string(), z.unknown()).optional(),
  }),
]);
