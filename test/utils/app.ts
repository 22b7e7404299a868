import { startApp, type App } from '../../src/service/app.js';
import { parseConfig } from '../../src/service/config.js';
import { amqpUrl, openAdmin, uniqueName, projectorQueues } from './amqp.js';
import { captureLogs, type LogLine } from './log-capture.js';
import { createDatabase } from './service.js';

export interface TestApp {
  readonly app: App;
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly exchange: string;
  /** Every line the app logged so far. */
  readonly logs: LogLine[];
  /** Stops the app, then deletes its queues, exchange and database. */
  stop(): Promise<void>;
}

/**
 * The reference service in this process, on the real broker and a database of
 * its own, configured from `env` as `npm start` would be.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const exchange = uniqueName('pokegate.e2e.app');
  const database = await createDatabase();
  const { logger, lines } = captureLogs();
  const config = parseConfig({
    PORT: '0',
    AMQP_URL: amqpUrl,
    DATABASE_URL: database.url,
    EXCHANGE: exchange,
    ...env,
  });
  let app: App;
  try {
    app = await startApp(config, { logger });
  } catch (error) {
    await database.drop();
    throw error;
  }
  return {
    app,
    httpUrl: `http://127.0.0.1:${app.port}`,
    wsUrl: `ws://127.0.0.1:${app.port}/graphql`,
    exchange,
    logs: lines,
    async stop() {
      await app.stop();
      const admin = await openAdmin();
      try {
        await admin.deleteQueues(projectorQueues(`${exchange}.orders-projector`));
        await admin.deleteExchange(exchange);
      } finally {
        await admin.close();
      }
      await database.drop();
    },
  };
}
