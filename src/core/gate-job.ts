import type { GateClient, GateTask, Producer, SubmitResult } from './gate-types.js';

/**
 * Where a job is: waiting for a worker (`queued`), inside its producer
 * (`running`), waiting for its next check holding no worker (`sleeping`), or
 * ended (`done`).
 */
export type Phase = 'queued' | 'running' | 'sleeping' | 'done';

export type Resolve = (result: SubmitResult<unknown>) => void;

/** One pending submission, or several of the same thing merged, as the gate tracks it. */
export interface Job {
  readonly client: GateClient<unknown>;
  readonly keys: readonly string[];
  /** The fair queue's key: submissions of one registry key take turns with other keys'. */
  readonly fairKey: string;
  producer: Producer<unknown>;
  readonly coalesceId: string | undefined;
  occurredAt: number | undefined;
  /** The version its producer waits for; undefined when any merged submission had none. */
  version: number | undefined;
  /** The newest version reported while its check ran: that check may have read just before the commit. */
  reported: number;
  /** Whether a report started (or will start) the next check; otherwise it is a fallback check. */
  notified: boolean;
  /** Ends the current wait early: `visible`, `postpone`, or the job's end. */
  wake: AbortController | undefined;
  submittedAt: number;
  deadline: number;
  attempt: number;
  phase: Phase;
  lastError: Error | undefined;
  readonly controller: AbortController;
  /** Ends the producer race of the running attempt early (dispose). */
  interrupt: (() => void) | undefined;
  readonly resolvers: Resolve[];
}

export function createJob(task: GateTask<unknown>, now: number, timeoutMs: number): Job {
  const { client, keys } = task;
  return {
    client,
    keys,
    fairKey: `${client.name}\u0000${keys.join('\u0000')}`,
    producer: task.producer,
    coalesceId: task.coalesceId,
    occurredAt: task.occurredAt,
    version: task.version,
    reported: -Infinity,
    notified: false,
    wake: undefined,
    submittedAt: now,
    deadline: now + timeoutMs,
    attempt: 0,
    phase: 'queued',
    lastError: undefined,
    controller: new AbortController(),
    interrupt: undefined,
    resolvers: [],
  };
}

/** What a newer submission of the same thing brings to the job it merges into. */
export interface Newer {
  readonly producer: Producer<unknown>;
  readonly version?: number | undefined;
  readonly occurredAt?: number | undefined;
  readonly submittedAt: number;
  readonly deadline: number;
}

/**
 * A newer submission of the same thing takes over `job`: its producer, its
 * version and its budget; the event time stays the oldest, for the lag metric.
 */
export function takeOver(job: Job, newer: Newer): void {
  job.producer = newer.producer;
  job.version = newer.version === undefined ? undefined : Math.max(job.version ?? -Infinity, newer.version);
  job.submittedAt = newer.submittedAt;
  job.deadline = newer.deadline;
  if (newer.occurredAt !== undefined) {
    job.occurredAt = Math.min(job.occurredAt ?? newer.occurredAt, newer.occurredAt);
  }
}
