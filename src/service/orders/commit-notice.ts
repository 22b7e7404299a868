// The projector announces what each committed batch made visible, so every
// replica's gate can check right after the commit instead of polling. On
// PostgreSQL (and PGlite) this is `pg_notify` inside the batch's transaction:
// the server delivers it only once the transaction has committed, and never
// if it rolls back, so a notice always means "visible to whoever reads this
// database now".

/** One order's newest version, as committed. */
export interface OrderCommit {
  readonly companyId: string;
  readonly orderId: string;
  readonly version: number;
}

/** PostgreSQL caps a NOTIFY payload below 8000 bytes; leave room for multi-byte ids. */
export const maxNoticeBytes = 7_800;

/**
 * The channel the read view in `schema` notifies its commits on. The schema
 * is a validated identifier (letters, digits and `_`), so the name needs no
 * quoting beyond the identifier quotes `LISTEN` takes.
 */
export function commitChannel(schema: string): string {
  return `pokegate_orders_${schema}`;
}

/**
 * Encodes commits into as few payloads as fit under `maxNoticeBytes`, each a
 * JSON array of `[companyId, orderId, version]` triples. One order that does
 * not fit alone (ids are at most 200 characters each) is impossible by the
 * event schema; it would still get a payload of its own.
 */
export function encodeCommitNotices(commits: readonly OrderCommit[]): string[] {
  const payloads: string[] = [];
  let parts: string[] = [];
  let bytes = 2;
  for (const { companyId, orderId, version } of commits) {
    const part = JSON.stringify([companyId, orderId, version]);
    const size = Buffer.byteLength(part) + 1;
    if (parts.length > 0 && bytes + size > maxNoticeBytes) {
      payloads.push(`[${parts.join(',')}]`);
      parts = [];
      bytes = 2;
    }
    parts.push(part);
    bytes += size;
  }
  if (parts.length > 0) payloads.push(`[${parts.join(',')}]`);
  return payloads;
}

/** The commits of one payload, or undefined for a payload this module did not write. */
export function decodeCommitNotice(payload: string): OrderCommit[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const commits: OrderCommit[] = [];
  for (const entry of parsed as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 3) return undefined;
    const [companyId, orderId, version] = entry as unknown[];
    if (typeof companyId !== 'string' || typeof orderId !== 'string' || !Number.isInteger(version)) {
      return undefined;
    }
    commits.push({ companyId, orderId, version: version as number });
  }
  return commits;
}
