// The projector announces what each committed batch made visible, so every
// replica's gate can check right after the commit instead of polling. On
// PostgreSQL (and PGlite) this is `pg_notify` inside the batch's write statement:
// the server delivers it only once the transaction has committed, and never
// if it rolls back, so a notice always means "visible to whoever reads this
// database now".

/** One order's newest version, as committed. */
export interface OrderCommit {
  readonly companyId: string;
  readonly orderId: string;
  readonly version: number;
  /** Whether that version removed the order; unknown in a notice of an older replica. */
  readonly removed?: boolean;
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

/** Commits as the write statement takes them: one JSON triple each, and the payload it joins. */
export interface CommitNotices {
  /** `[companyId, orderId, version]` of each commit, in JSON. */
  readonly notices: string[];
  /** The payload each notice joins: notices with one number fit one payload together. */
  readonly chunks: number[];
}

/**
 * Splits commits into as few payloads as fit under `maxNoticeBytes`, each a
 * JSON array of `[companyId, orderId, version, removed]` entries (a replica
 * of an earlier release sends them without `removed`), joined by the
 * statement that wrote them (so that only the writes that landed are
 * announced). One order that does not fit alone (ids are at most 200
 * characters each) is impossible by the event schema; it would still get a
 * payload of its own.
 */
export function commitNotices(commits: readonly OrderCommit[]): CommitNotices {
  const notices: string[] = [];
  const chunks: number[] = [];
  let chunk = 0;
  let count = 0;
  let bytes = 2;
  for (const { companyId, orderId, version, removed = false } of commits) {
    const notice = JSON.stringify([companyId, orderId, version, removed]);
    const size = Buffer.byteLength(notice) + 1;
    if (count > 0 && bytes + size > maxNoticeBytes) {
      chunk++;
      count = 0;
      bytes = 2;
    }
    notices.push(notice);
    chunks.push(chunk);
    count++;
    bytes += size;
  }
  return { notices, chunks };
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
    if (!Array.isArray(entry) || entry.length < 3 || entry.length > 4) return undefined;
    const [companyId, orderId, version, removed] = entry as unknown[];
    if (typeof companyId !== 'string' || typeof orderId !== 'string' || !Number.isInteger(version)) {
      return undefined;
    }
    if (removed !== undefined && typeof removed !== 'boolean') return undefined;
    commits.push(
      removed === undefined
        ? { companyId, orderId, version: version as number }
        : { companyId, orderId, version: version as number, removed },
    );
  }
  return commits;
}
