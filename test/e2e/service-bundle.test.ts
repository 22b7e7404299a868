// The image's runtime: the bundle `npm run build:service` makes, run from a
// directory holding only what the Dockerfile copies (build/ and schema/, and
// no node_modules, as PGlite is not needed with DATABASE_URL set).
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpUrl, openAdmin, uniqueName, type Admin, projectorQueues } from '../utils/amqp.js';
import { collectPokes, query, secret, token, wsClient } from '../utils/graphql-client.js';
import { createDatabase, killAll, startService, type ServiceProcess } from '../utils/service.js';
import { waitFor } from '../utils/wait-for.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('the service bundle, as the image runs it', () => {
  const exchange = uniqueName('pokegate.e2e.bundle');
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let admin: Admin;
  let image: string;
  let service: ServiceProcess;

  beforeAll(async () => {
    await promisify(execFile)(
      process.execPath,
      ['--conditions=pokegate-source', '--import', 'tsx', 'src/service/build-cli.ts'],
      { cwd: root },
    );
    image = await mkdtemp(join(tmpdir(), 'pokegate-image-'));
    await cp(join(root, 'build'), join(image, 'build'), { recursive: true });
    await cp(join(root, 'schema'), join(image, 'schema'), { recursive: true });
    database = await createDatabase();
    admin = await openAdmin();
    service = await startService(
      {
        AMQP_URL: amqpUrl,
        DATABASE_URL: database.url,
        EXCHANGE: exchange,
        AUTH_SECRET: secret,
        NODE_ENV: 'production',
      },
      { args: ['build/service/main.js'], cwd: image },
    );
  }, 120_000);

  afterAll(async () => {
    await service.stop();
    killAll();
    await admin.deleteQueues(projectorQueues(`${exchange}.orders-projector`));
    await admin.deleteExchange(exchange);
    await admin.close();
    await database.drop();
    await rm(image, { recursive: true, force: true });
  });

  it('serves the demo page, answers ready, and pokes a write', async () => {
    expect((await fetch(`${service.httpUrl}/readyz`)).status).toBe(200);
    const page = await fetch(`${service.httpUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const jwt = await token({ companies: ['c1'] });
    const client = wsClient(service.wsUrl, jwt);
    const pokes = collectPokes(client, 'c1');
    try {
      await waitFor('the subscription', async () => {
        const text = await (await fetch(`${service.httpUrl}/metrics`)).text();
        return /pokegate_receivers\{[^}]*\} 1/.test(text);
      });
      const written = await query<{ placeOrder: { orderId: string } }>(
        service.httpUrl,
        jwt,
        'mutation { placeOrder(companyId: "c1", total: 12.5) { orderId } }',
      );
      const orderId = written.body.data?.placeOrder.orderId;
      expect(orderId).toBeTypeOf('string');
      await waitFor('the poke', () => pokes.pokes.some((poke) => poke.orderId === orderId));
      expect(service.stray.filter((line) => /Error/.test(line))).toEqual([]);
    } finally {
      pokes.dispose();
      await client.dispose();
    }
  });
});
