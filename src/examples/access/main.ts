// Runs the access example: node --conditions=pokegate-source --import tsx src/examples/access/main.ts
import { pino } from 'pino';
import { startAccessService } from './service.js';

const env = process.env;
const logger = pino({ base: { service: 'access' } });
const service = await startAccessService({
  amqpUrl: env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672',
  databaseUrl: env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
  authSecret: env['AUTH_SECRET'] ?? 'example only: a development secret of 32+ bytes',
  port: Number(env['PORT'] ?? 4001),
  logger,
});
logger.info({ port: service.port }, 'access service listening');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void service.stop());
