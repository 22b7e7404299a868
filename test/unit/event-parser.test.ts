import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createEventParser, type EventSchema } from 'pokegate';
import { orderEventSchema, orderRoutingKey } from '../../src/service/orders/events.js';
import { orderEvent } from '../utils/orders.js';

const bytes = (text: string): Uint8Array => Buffer.from(text);
const parse = createEventParser({ schema: orderEventSchema, maxBytes: 1_024 });

describe('createEventParser', () => {
  it('accepts every orders event of the contract', () => {
    for (const type of ['OrderPlaced', 'OrderStatusChanged', 'OrderRemoved'] as const) {
      const event = orderEvent({ type });
      expect(parse(bytes(JSON.stringify(event)))).toEqual({ ok: true, event });
    }
  });

  it('checks the size before anything else', () => {
    expect(parse(new Uint8Array(1_025).fill(0xff))).toMatchObject({ ok: false, reason: 'too_large' });
    expect(parse(bytes(JSON.stringify({ ...orderEvent(), pad: 'x'.repeat(900) })))).toMatchObject({
      ok: false,
      reason: 'too_large',
    });
  });

  it('tells bad bytes, bad JSON, non-objects and wrong events apart', () => {
    expect(parse(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]))).toMatchObject({ reason: 'not_utf8' });
    expect(parse(bytes('{"type":'))).toMatchObject({ reason: 'invalid_json' });
    expect(parse(bytes(''))).toMatchObject({ reason: 'invalid_json' });
    for (const value of ['null', '42', '"text"', '[1]', 'true']) {
      expect(parse(bytes(value))).toMatchObject({ ok: false, reason: 'not_an_object' });
    }
    expect(parse(bytes('{}'))).toMatchObject({ ok: false, reason: 'invalid_event' });
  });

  it('names the fields a wrong event gets wrong', () => {
    const event = orderEvent();
    const result = parse(bytes(JSON.stringify({ ...event, version: 1.5, occurredAt: 'yesterday' })));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.detail).toContain('version');
    expect(result.detail).toContain('occurredAt');
    expect(parse(bytes(JSON.stringify({ ...event, type: 'OrderShredded' })))).toMatchObject({
      reason: 'invalid_event',
    });
    expect(parse(bytes(JSON.stringify({ ...event, data: { total: '12', status: 'PLACED' } })))).toMatchObject(
      {
        reason: 'invalid_event',
      },
    );
    expect(parse(bytes(JSON.stringify({ ...event, companyId: '' })))).toMatchObject({
      reason: 'invalid_event',
    });
  });

  it('drops fields it does not know, so the owning service can add some', () => {
    const event = orderEvent();
    expect(parse(bytes(JSON.stringify({ ...event, traceId: 't1' })))).toEqual({ ok: true, event });
  });

  it('refuses a schema that validates asynchronously, message by message', () => {
    const asyncParse = createEventParser({
      schema: z.object({ a: z.string() }).refine(async () => Promise.resolve(true)),
    });
    expect(asyncParse(bytes('{"a":"x"}'))).toMatchObject({ ok: false, reason: 'invalid_event' });
  });

  it('isolates a schema that throws', () => {
    const throwing: EventSchema<never> = {
      '~standard': {
        validate: () => {
          throw new Error('schema bug');
        },
      },
    };
    expect(createEventParser({ schema: throwing })(bytes('{}'))).toMatchObject({
      ok: false,
      reason: 'invalid_event',
      detail: 'the schema threw: schema bug',
    });
  });

  it('validates a body received twice once, and again once both took it', () => {
    let validations = 0;
    const schema: EventSchema<unknown> = {
      '~standard': {
        validate: (value) => {
          validations++;
          return { value };
        },
      },
    };
    const shared = createEventParser({ schema, recentEvents: 2 });
    const body = bytes('{"a":1}');
    const first = shared(body);
    const second = shared(Buffer.from(body));
    expect(second).toEqual(first);
    expect(second.ok && first.ok && second.event === first.event).toBe(true);
    expect(validations).toBe(1);
    shared(body); // a redelivery, later
    expect(validations).toBe(2);
    // Only the newest are kept.
    for (const text of ['{"b":1}', '{"c":1}', '{"d":1}']) shared(bytes(text));
    shared(bytes('{"b":1}'));
    expect(validations).toBe(6);
    const none = createEventParser({ schema, recentEvents: 0 });
    none(body);
    none(body);
    expect(validations).toBe(8);
  });

  it('validates its options eagerly', () => {
    expect(() => createEventParser({ schema: {} as EventSchema<unknown> })).toThrow(TypeError);
    expect(() => createEventParser({ schema: orderEventSchema, maxBytes: 0 })).toThrow(/`maxBytes`/);
    expect(() => createEventParser({ schema: orderEventSchema, maxBytes: 1.5 })).toThrow(TypeError);
    expect(() => createEventParser({ schema: orderEventSchema, recentEvents: -1 })).toThrow(/`recentEvents`/);
  });
});

describe('orderRoutingKey', () => {
  it('gives each event type its routing key, with the tenant', () => {
    expect(orderRoutingKey(orderEvent({ type: 'OrderPlaced' }))).toBe('orders.placed.c1');
    expect(orderRoutingKey(orderEvent({ type: 'OrderStatusChanged' }))).toBe('orders.status_changed.c1');
    expect(orderRoutingKey(orderEvent({ type: 'OrderRemoved', companyId: 'acme.eu' }))).toMatch(
      /^orders\.removed\.~[0-9a-f]{64}$/,
    );
  });
});
