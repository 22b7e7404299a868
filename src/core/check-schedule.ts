import type { Backoff } from '../common/backoff.js';
import type { Clock } from '../common/clock.js';
import type { GateClient } from './gate-types.js';
import type { Job } from './gate-job.js';
import { ReportedVersions } from './reported-versions.js';

export interface CheckScheduleOptions {
  readonly awaitProgressMs: number;
  readonly fallbackMs: number;
  readonly reportedVersions: number;
  readonly progressLive: () => boolean;
  readonly backoff: Backoff;
  readonly clock: Clock;
}

/**
 * When a job's next check runs: on the report of its version when there is
 * one, else after a wait — the fallback interval while reports are live, the
 * short wait for a local report and then backoff while they are not. It
 * marks the checks a report started (`job.notified`); the others are
 * fallback checks.
 */
export class CheckSchedule {
  readonly #options: CheckScheduleOptions;
  readonly #reported = new WeakMap<GateClient<unknown>, ReportedVersions>();

  constructor(options: CheckScheduleOptions) {
    this.#options = options;
  }

  /** Remembers a report, for a submission of that version that comes after it. */
  report(client: GateClient<unknown>, coalesceId: string, version: number): void {
    let versions = this.#reported.get(client);
    if (versions === undefined) {
      versions = new ReportedVersions(this.#options.reportedVersions);
      this.#reported.set(client, versions);
    }
    versions.report(coalesceId, version);
  }

  /** How long a new job waits before its first check; 0 checks now. */
  firstWaitMs(job: Job): number {
    if (job.version === undefined || job.coalesceId === undefined) return 0;
    if (this.wasReported(job)) return 0;
    return this.#options.progressLive() ? this.#options.fallbackMs : this.#options.awaitProgressMs;
  }

  /**
   * How long a job whose check found nothing waits for the next: none (and
   * notified) when its version was reported while the check read, or, for a
   * newer submission it has just adopted, before; the fallback interval for
   * a versioned job while reports are live; the backoff otherwise.
   */
  retryDelayMs(job: Job, adopted: boolean): number {
    if (job.version === undefined) return this.#options.backoff(job.attempt);
    if (job.reported >= job.version) {
      job.notified = true;
      return 0;
    }
    if (adopted && this.wasReported(job)) return 0;
    const waitsForReport = job.coalesceId !== undefined && this.#options.progressLive();
    return waitsForReport ? this.#options.fallbackMs : this.#options.backoff(job.attempt);
  }

  /** Whether the job's version was reported before the job asked for it: its check is then notified. */
  wasReported(job: Job): boolean {
    const { version, coalesceId } = job;
    if (version === undefined || coalesceId === undefined) return false;
    const reported = this.#reported.get(job.client)?.has(coalesceId, version) === true;
    if (reported) job.notified = true;
    return reported;
  }

  /**
   * Waits `delayMs` in the `sleeping` phase, or until a report for the job's
   * version ends the wait (a notified check); a report for an older version
   * starts the wait over, never past the budget. Resolves false when the job
   * left the `sleeping` phase meanwhile (finished, merged away).
   */
  async sleep(job: Job, delayMs: number): Promise<boolean> {
    const { clock } = this.#options;
    for (;;) {
      const wake = new AbortController();
      job.wake = wake;
      const ms = Math.max(0, Math.min(delayMs, job.deadline - clock.now() - 1));
      const elapsed = await clock.sleep(ms, wake.signal);
      if (job.wake === wake) job.wake = undefined;
      if (job.phase !== 'sleeping') return false;
      if (elapsed) return true;
      if (wake.signal.reason === 'visible') {
        job.notified = true;
        return true;
      }
    }
  }
}
