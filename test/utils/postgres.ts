import pg from 'pg';

/** The PostgreSQL the integration tests run against: reachable, or the tests fail. */
export const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

let schemas = 0;

/** A schema name no other test file or run uses, so files can run side by side. */
export function uniqueSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${++schemas}`;
}

/** A single connection for the test's own statements (locks, checks, cleanup). */
export async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  return client;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = await connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
