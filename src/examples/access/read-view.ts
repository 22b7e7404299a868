import pg from 'pg';
import type { ProjectionOutcome } from 'pokegate';
import type { AccessEvent } from './events.js';

export interface Company {
  readonly id: string;
  readonly name: string;
  readonly closed: boolean;
}

/**
 * The access service's read view on PostgreSQL: who is a member of which
 * company, and each company's name. Every write is versioned and idempotent: a
 * row changes only for a newer version, so redelivered events are duplicates.
 */
export interface AccessReadView {
  apply(event: AccessEvent): Promise<ProjectionOutcome>;
  /** The companies `userId` may access, or every company for `"*"`. */
  availableCompanies(userId: string): Promise<Company[]>;
  /** The membership's version in the read view (0 when unknown). */
  membershipVersion(userId: string, companyId: string): Promise<number>;
  /** The company's version and its members, read together (null when unknown). */
  companyMembers(companyId: string): Promise<{ version: number; members: string[] } | null>;
  close(): Promise<void>;
}

export async function createAccessReadView(options: {
  readonly databaseUrl: string;
  /** The PostgreSQL schema of its tables, created if missing. */
  readonly schema: string;
}): Promise<AccessReadView> {
  const schema = pg.escapeIdentifier(options.schema);
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: 4,
    statement_timeout: 10_000,
    options: `-c search_path=${schema}`,
  });
  pool.on('error', () => undefined); // an idle connection dropped by the server is replaced
  await pool.query(`
    CREATE SCHEMA IF NOT EXISTS ${schema};
    CREATE TABLE IF NOT EXISTS ${schema}.companies (
      id text PRIMARY KEY, name text NOT NULL, closed boolean NOT NULL DEFAULT false, version int NOT NULL);
    CREATE TABLE IF NOT EXISTS ${schema}.memberships (
      user_id text, company_id text, active boolean NOT NULL, version int NOT NULL,
      PRIMARY KEY (user_id, company_id));
    CREATE INDEX IF NOT EXISTS memberships_by_company ON ${schema}.memberships (company_id) WHERE active;`);

  const write = async (text: string, params: unknown[]): Promise<ProjectionOutcome> =>
    ((await pool.query(text, params)).rowCount ?? 0) > 0 ? 'applied' : 'duplicate';
  const membership = (active: boolean, event: { userId: string; companyId: string; version: number }) =>
    write(
      `INSERT INTO memberships AS m VALUES ($1, $2, ${active}, $3)
       ON CONFLICT (user_id, company_id) DO UPDATE SET active = excluded.active, version = excluded.version
       WHERE m.version < excluded.version`,
      [event.userId, event.companyId, event.version],
    );
  const company = (set: string, event: { companyId: string; version: number }, name = '', closed = false) =>
    write(
      `INSERT INTO companies AS c VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET ${set}, version = excluded.version WHERE c.version < excluded.version`,
      [event.companyId, name, closed, event.version],
    );

  return {
    async apply(event) {
      switch (event.type) {
        case 'MemberAdded':
          // The company's row, at version 0, until the first company event names it.
          await pool.query(`INSERT INTO companies VALUES ($1, $2, false, 0) ON CONFLICT DO NOTHING`, [
            event.companyId,
            event.companyName,
          ]);
          return membership(true, event);
        case 'MemberRemoved':
          return membership(false, event);
        case 'CompanyRenamed':
          return company('name = excluded.name', event, event.name);
        case 'CompanyClosed':
          return company('closed = true', event, '', true);
      }
    },
    async availableCompanies(userId) {
      const { rows } = await pool.query<Company>(
        userId === '*'
          ? `SELECT id, name, closed FROM companies ORDER BY id`
          : `SELECT c.id, c.name, c.closed FROM memberships m JOIN companies c ON c.id = m.company_id
             WHERE m.user_id = $1 AND m.active ORDER BY c.id`,
        userId === '*' ? [] : [userId],
      );
      return rows;
    },
    async membershipVersion(userId, companyId) {
      const { rows } = await pool.query<{ version: number }>(
        `SELECT version FROM memberships WHERE user_id = $1 AND company_id = $2`,
        [userId, companyId],
      );
      return rows[0]?.version ?? 0;
    },
    async companyMembers(companyId) {
      const { rows } = await pool.query<{ version: number; members: string[] }>(
        `SELECT c.version, array_remove(array_agg(m.user_id), NULL) AS members
         FROM companies c LEFT JOIN memberships m ON m.company_id = c.id AND m.active
         WHERE c.id = $1 GROUP BY c.version`,
        [companyId],
      );
      return rows[0] ?? null;
    },
    close: () => pool.end(),
  };
}
