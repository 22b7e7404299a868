/**
 * The newest version reported per coalesce id, for the last `capacity` ids
 * reported: a report can come before the submission it is for (the projection
 * and the consumer that submits read the broker side by side), and the
 * submission must then check at once rather than wait for a report that has
 * already gone by. The oldest id is forgotten first; a forgotten report only
 * costs that submission its fallback wait.
 */
export class ReportedVersions {
  readonly #capacity: number;
  /** In report order, oldest first (a Map keeps insertion order). */
  readonly #versions = new Map<string, number>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Records `version` of `id`, unless a newer one is already known. */
  report(id: string, version: number): void {
    if (this.#capacity === 0) return;
    const known = this.#versions.get(id);
    if (known !== undefined) {
      if (known >= version) return;
      // Moved to the newest end: re-inserted below.
      this.#versions.delete(id);
    } else if (this.#versions.size >= this.#capacity) {
      const oldest = this.#versions.keys().next();
      if (oldest.done !== true) this.#versions.delete(oldest.value);
    }
    this.#versions.set(id, version);
  }

  /** Whether `version` of `id`, or a newer one, was reported. */
  has(id: string, version: number): boolean {
    const known = this.#versions.get(id);
    return known !== undefined && known >= version;
  }
}
