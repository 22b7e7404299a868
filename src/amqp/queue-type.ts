import type { Channel, ChannelModel, Options } from 'amqplib';

/**
 * The type of the projector's durable queues on RabbitMQ (the work queue,
 * its retry queues and its dead-letter queue):
 * - `classic` — a classic queue as the broker's default makes it (version 1
 *   on RabbitMQ 3.10 – 3.11; version 2 is the default from 3.12 on);
 * - `classic-v2` — a classic queue with the version-2 index and store
 *   (`x-queue-version: 2`, RabbitMQ 3.10 and later);
 * - `quorum` — a replicated quorum queue (`x-queue-type: quorum`).
 *
 * Each keeps the projector's guarantees: a delivery unacknowledged when its
 * channel or process dies is delivered again, retries wait in TTL queues that
 * dead-letter back onto the work queue, and the dead-letter queue keeps what
 * failed. Streams are not offered: a stream keeps no per-consumer position
 * for an AMQP 0-9-1 consumer, so after a crash the projector would have to
 * keep its own offset to be redelivered what it had not committed.
 *
 * The broker refuses to redeclare an existing queue as another type
 * (`PRECONDITION_FAILED`), so the type applies to queues the projector
 * creates: one that exists already is used as it is. Changing the type of a
 * deployment's queue means a new queue name, drained over from the old one.
 */
export type DurableQueueType = 'classic' | 'classic-v2' | 'quorum';

export const durableQueueTypes: readonly DurableQueueType[] = Object.freeze([
  'classic',
  'classic-v2',
  'quorum',
]);

/** The declaration arguments that make a durable queue of `type`. */
export function durableQueueArguments(type: DurableQueueType): Record<string, unknown> {
  switch (type) {
    case 'classic':
      return {};
    case 'classic-v2':
      return { 'x-queue-version': 2 };
    case 'quorum':
      return { 'x-queue-type': 'quorum' };
  }
}

/**
 * Declares the durable `queue` as a `type` queue, unless it exists already:
 * then it is kept as it is, whatever its type (see `DurableQueueType`).
 */
export async function declareDurableQueue(
  model: ChannelModel,
  channel: Channel,
  queue: string,
  type: DurableQueueType,
  options: Options.AssertQueue = {},
): Promise<void> {
  if (await queueExists(model, queue)) return;
  const given: Record<string, unknown> = { ...(options.arguments as Record<string, unknown> | undefined) };
  await channel.assertQueue(queue, {
    ...options,
    durable: true,
    arguments: { ...given, ...durableQueueArguments(type) },
  });
}

/** Checks on a channel of its own: the broker closes the channel that asks for a queue it lacks. */
async function queueExists(model: ChannelModel, queue: string): Promise<boolean> {
  const probe = await model.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.checkQueue(queue);
  } catch {
    return false;
  }
  await probe.close();
  return true;
}
