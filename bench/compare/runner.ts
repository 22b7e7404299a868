// Runs one round (a layout of subscribers and its steps) against one server,
// and turns what the load generator saw and what the server spent into samples.
import type { BurstResult, DeliveryResult, ResyncResult } from './drivers.js';
import { percentile } from '../table.js';
import type { Child } from './ipc.js';
import type { Plan, Round, Step } from './plan.js';
import { fromBurst, fromDeliveries, fromResync, type Sample } from './samples.js';
import type { Server } from './servers.js';
import {
  paced,
  runKnee,
  runNoisy,
  runPacedWithExternalCpu,
  runQueueTypes,
  runStalledFlood,
} from './load-steps.js';
import { layoutSize, type Layout, type ServerStats } from './workload.js';

export type { Sample } from './samples.js';

async function waitForSubscriptions(server: Server, count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { subscriptions } = await server.stats();
    if (subscriptions === count) return;
    if (Date.now() > deadline) {
      throw new Error(`server ${server.id} has ${subscriptions} subscriptions, expected ${count}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function runStep(
  loadgen: Child,
  server: Server,
  layout: Layout,
  step: Step,
  plan: Plan,
  runId: string,
): Promise<Sample> {
  const { stallMs } = plan;
  const countChecks = server.id !== 'A'; // the raw baseline has no read view
  switch (step.kind) {
    case 'memory':
      throw new Error('memory is measured around the opening of the round');
    case 'stream': {
      // The broker hop alone (0 for the baselines, which have no broker), to set first delivery against.
      const hopMs =
        step.hopSamples === undefined
          ? undefined
          : await loadgen.request<number>({ type: 'hop', params: { samples: step.hopSamples } });
      const before = await server.stats();
      const result = await loadgen.request<DeliveryResult>({
        type: 'stream',
        params: {
          runId,
          companyId: 'c0',
          subscribers: layout.subscribers,
          events: step.events,
          window: step.window,
          stallMs,
        },
      });
      const sample = fromDeliveries(result, before, await server.stats(), countChecks);
      if (hopMs === undefined) return sample;
      // With 4 events in flight the load generator is still reading the fan-outs before an event
      // when its first poke comes (A's too): the target is set against one event in flight.
      const alone = await loadgen.request<DeliveryResult>({
        type: 'stream',
        params: {
          runId: `${runId}-alone`,
          companyId: 'c0',
          subscribers: layout.subscribers,
          events: step.aloneEvents ?? 0,
          window: 1,
          stallMs,
        },
      });
      const firstAloneP50Ms = percentile(alone.toFirstDeliveryMs, 50);
      return { ...sample, hopMs, firstAloneP50Ms, firstMinusHopMs: firstAloneP50Ms - hopMs };
    }
    case 'paced': {
      if (step.externalCpu === true)
        return runPacedWithExternalCpu(loadgen, server, layout, step, plan, runId);
      const before = await server.stats();
      const result = await paced(loadgen, layout, plan, runId, step.events, step.ratePerSecond);
      return fromDeliveries(result, before, await server.stats(), countChecks);
    }
    case 'knee':
      return runKnee(loadgen, server, layout, step, plan, runId);
    case 'noisy':
      return runNoisy(loadgen, server, layout, step, plan, runId);
    case 'flood':
      return runStalledFlood(loadgen, server, layout, step, plan, runId);
    case 'burst': {
      const before = await server.stats();
      const result = await loadgen.request<BurstResult>({
        type: 'burst',
        params: {
          companyId: 'c0',
          orderId: `${runId}-burst`,
          subscribers: layout.subscribers,
          versions: step.versions,
          spreadMs: step.spreadMs,
          stallMs,
        },
      });
      return fromBurst(result, step.versions, before, await server.stats(), countChecks);
    }
    case 'queue-types':
      return runQueueTypes(loadgen, server, step, runId);
    case 'resync': {
      await loadgen.request({ type: 'armResync', params: { subscribers: layout.subscribers, stallMs } });
      const before = await server.stats();
      const startedAt = await server.resync();
      const result = await loadgen.request<ResyncResult>({ type: 'awaitResync' });
      return fromResync(result, startedAt, before, await server.stats());
    }
  }
}

/** Opens the round's subscribers on `server`, runs its steps, closes them; samples by step id. */
export async function runRound(
  loadgen: Child,
  server: Server,
  round: Round,
  plan: Plan,
  runId: string,
): Promise<Map<string, Sample>> {
  const { layout, steps } = round;
  const samples = new Map<string, Sample>();
  await loadgen.request({ type: 'target', params: server.target });
  const measureMemory = steps.some((step) => step.kind === 'memory');
  let idle: ServerStats | undefined;
  let base = 0;
  if (measureMemory) {
    base = plan.memoryBase.subscribers;
    await loadgen.request({ type: 'open', params: { layout: plan.memoryBase, perSocket: round.perSocket } });
    await waitForSubscriptions(server, base);
    idle = await server.stats(true);
  }
  await loadgen.request({ type: 'open', params: { layout, perSocket: round.perSocket } });
  await waitForSubscriptions(server, base + layoutSize(layout));
  try {
    for (const step of steps) {
      if (step.kind === 'memory') {
        const open = await server.stats(true);
        samples.set(step.id, {
          heapBytesPerSubscription: (open.heapBytes - (idle?.heapBytes ?? 0)) / layout.subscribers,
          rssBytesPerSubscription: (open.rssBytes - (idle?.rssBytes ?? 0)) / layout.subscribers,
        });
        continue;
      }
      const sample = await runStep(loadgen, server, layout, step, plan, `${runId}-${step.id}`);
      // What an overloaded server still has queued must not land in the next step.
      await server.settle();
      const errors = await loadgen.request<string[]>({ type: 'errors' });
      for (const error of errors.slice(0, 5)) console.error(`  ${server.id} ${step.id}: ${error}`);
      samples.set(step.id, { ...sample, errors: errors.length });
    }
  } finally {
    await loadgen.request({ type: 'close' });
    await waitForSubscriptions(server, 0);
  }
  return samples;
}
