/** What a slot needs to know of a gate job. */
export interface SlotJob {
  readonly client: object;
  readonly coalesceId: string | undefined;
  /** `running` while the job is inside its producer, `done` once it has ended. */
  readonly phase: string;
}

/**
 * Per client and coalesce id: the `active` job (waiting for a worker,
 * checking, or waiting for its next check) and, only while `active` is
 * inside its producer, the `next` one parked behind it. Newer submits merge
 * into whichever of the two is not executing, so a burst costs a couple of
 * checks, not one per event.
 */
interface Slot<J> {
  active: J;
  next: J | undefined;
}

/** The coalescing table; ids are only unique within a client, so it is keyed by client first. */
export class CoalesceSlots<J extends SlotJob> {
  readonly #slots = new Map<object, Map<string, Slot<J>>>();

  #slot(job: { readonly client: object; readonly coalesceId: string | undefined }): Slot<J> | undefined {
    return job.coalesceId === undefined ? undefined : this.#slots.get(job.client)?.get(job.coalesceId);
  }

  /** The active job for the id, if any. */
  active(client: object, coalesceId: string): J | undefined {
    return this.#slots.get(client)?.get(coalesceId)?.active;
  }

  /**
   * Where a new submission for the id goes: `merge` into a job that is not
   * executing, `park` behind a running one (call `park`), or `open` a slot
   * (call `open`).
   */
  place(client: object, coalesceId: string): { merge: J } | 'park' | 'open' {
    const slot = this.#slots.get(client)?.get(coalesceId);
    if (slot === undefined) return 'open';
    const target = slot.active.phase === 'running' ? slot.next : slot.active;
    return target === undefined ? 'park' : { merge: target };
  }

  open(job: J): void {
    if (job.coalesceId === undefined) return;
    let slots = this.#slots.get(job.client);
    if (slots === undefined) {
      slots = new Map();
      this.#slots.set(job.client, slots);
    }
    slots.set(job.coalesceId, { active: job, next: undefined });
  }

  park(job: J): void {
    const slot = this.#slot(job);
    if (slot !== undefined) slot.next = job;
  }

  /** Takes the job parked behind `job`, for `job` to adopt. */
  takeNext(job: J): J | undefined {
    const slot = this.#slot(job);
    const next = slot?.next;
    if (slot === undefined || next === undefined) return undefined;
    slot.next = undefined;
    return next;
  }

  /**
   * `job` has ended: returns the parked job that becomes active, which the
   * caller starts, or undefined when the slot is gone.
   */
  release(job: J): J | undefined {
    const slot = this.#slot(job);
    if (slot === undefined) return undefined;
    if (slot.next === job) {
      slot.next = undefined;
      return undefined;
    }
    if (slot.active !== job) return undefined;
    const next = slot.next;
    if (next !== undefined && next.phase !== 'done') {
      slot.active = next;
      slot.next = undefined;
      return next;
    }
    const slots = this.#slots.get(job.client);
    if (slots !== undefined && job.coalesceId !== undefined) {
      slots.delete(job.coalesceId);
      if (slots.size === 0) this.#slots.delete(job.client);
    }
    return undefined;
  }
}
