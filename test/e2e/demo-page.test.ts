// The demo page in a real Chromium (Debian's), against the service on the real
// broker and database with a read view that lags each event by 300 ms.
import { mkdir, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpUrl, openAdmin, uniqueName, type Admin, projectorQueues } from '../utils/amqp.js';
import { token } from '../utils/graphql-client.js';
import { createDatabase, killAll, startService, type ServiceProcess } from '../utils/service.js';
import { waitFor } from '../utils/wait-for.js';

const projectionDelayMs = 300;
const artifacts = new URL('../artifacts/', import.meta.url);

/** What the page showed and heard, in the order it happened, recorded in the page itself. */
type LogEntry =
  | { readonly kind: 'frame'; readonly data: string }
  | { readonly kind: 'render'; readonly rows: readonly { readonly id: string; readonly version: number }[] };

interface DemoPage {
  readonly page: Page;
  /** Main-frame navigations: 1 means never reloaded. */
  readonly navigations: () => number;
  readonly log: () => Promise<LogEntry[]>;
}

/**
 * Runs in the page before its own script: records every WebSocket message as
 * it arrives (before the client sees it) and every render of the orders
 * table (id and version as the page text shows them), in one sequence. A
 * string: it runs in the browser, whose types this project's Node.js code
 * does not load.
 */
const recordPage = `
  const log = [];
  window.demoLog = log;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener('message', (event) => log.push({ kind: 'frame', data: String(event.data) }));
    }
  };
  new MutationObserver((records) => {
    const orders = document.getElementById('orders');
    if (orders === null || !records.some((record) => orders.contains(record.target))) return;
    const rows = [...orders.querySelectorAll('tr')].map((row) => ({
      id: row.querySelector('td.id')?.textContent ?? '',
      version: Number(row.querySelector('td.version')?.textContent?.replace(/^v/, '')),
    }));
    log.push({ kind: 'render', rows });
  }).observe(document, { subtree: true, childList: true, characterData: true });
`;

describe('the demo page in Chromium', () => {
  const exchange = uniqueName('pokegate.e2e.demo');
  let database: Awaited<ReturnType<typeof createDatabase>> | undefined;
  let admin: Admin | undefined;
  let service: ServiceProcess | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    database = await createDatabase();
    admin = await openAdmin();
    service = await startService({
      AMQP_URL: amqpUrl,
      DATABASE_URL: database.url,
      EXCHANGE: exchange,
      PROJECTION_DELAY_MS: String(projectionDelayMs),
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);

  // Whatever failed in beforeAll (a browser that would not launch), the service,
  // the broker's queues and the database are still cleaned up.
  afterAll(async () => {
    try {
      for (const context of contexts) await context.close();
      await browser?.close();
      const exit = await service?.stop();
      killAll();
      if (exit !== undefined) expect(exit.code).toBe(0);
    } finally {
      await admin?.deleteQueues(projectorQueues(`${exchange}.orders-projector`));
      await admin?.deleteExchange(exchange);
      await admin?.close();
      await database?.drop();
    }
  }, 60_000);

  async function openDemo(companyId: string, expiresInSec?: number): Promise<DemoPage> {
    if (browser === undefined || service === undefined)
      throw new Error('beforeAll did not start the browser');
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.addInitScript({ content: recordPage });
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    const jwt = await token({
      companies: [companyId],
      ...(expiresInSec === undefined ? {} : { expiresInSec }),
    });
    await page.goto(`${service.httpUrl}/#company=${companyId}&token=${jwt}`);
    await page.waitForSelector('#status[data-status="live"]');
    return {
      page,
      navigations: () => navigations,
      log: () => page.evaluate<LogEntry[]>('window.demoLog'),
    };
  }

  /** Waits until the page text shows `orderId` at `version`. */
  async function shows({ page }: DemoPage, orderId: string, version: number): Promise<void> {
    await page
      .locator(`#orders tr[data-order-id="${orderId}"] td.version`, { hasText: new RegExp(`^v${version}$`) })
      .waitFor({ timeout: 15_000 });
  }

  /** Every render after the poke of (orderId, version) shows it at that version or newer; and there is such a poke. */
  function neverOlderAfterPoke(log: readonly LogEntry[], orderId: string, version: number): number[] {
    const poke = log.findIndex((entry) => {
      if (entry.kind !== 'frame') return false;
      const message = JSON.parse(entry.data) as {
        type: string;
        payload?: { data?: { ordersChanged?: { orderId: string | null; version: number | null } } };
      };
      const change = message.payload?.data?.ordersChanged;
      return message.type === 'next' && change?.orderId === orderId && (change.version ?? 0) >= version;
    });
    expect(poke, `a poke for ${orderId} v${version}`).toBeGreaterThanOrEqual(0);
    const after = log
      .slice(poke + 1)
      .flatMap((entry) =>
        entry.kind === 'render' ? [entry.rows.find((row) => row.id === orderId)?.version] : [],
      );
    expect(after.length, `a render after the poke of ${orderId} v${version}`).toBeGreaterThan(0);
    return after.map((shown) => shown ?? 0);
  }

  it('shows a write of page A in page B without a reload, never the old state after the poke, and nothing in another company', async () => {
    const company = `c-demo-${randomUUID().slice(0, 8)}`;
    const other = `c-other-${randomUUID().slice(0, 8)}`;
    const a = await openDemo(company);
    const b = await openDemo(company);
    const c = await openDemo(other);

    // Page A places an order: it shows in A, then in B, each refreshed by its own poke.
    await a.page.fill('#total', '42.50');
    await a.page.click('#place button[type="submit"]');
    await a.page.locator('#orders tr').first().waitFor();
    const orderId = (await a.page.textContent('#orders tr td.id')) ?? '';
    expect(orderId).toMatch(/^[0-9a-f-]{36}$/);
    await shows(a, orderId, 1);
    await shows(b, orderId, 1);

    // Page A changes its status: version 2, in both pages.
    const row = a.page.locator(`#orders tr[data-order-id="${orderId}"]`);
    await row.locator('select').selectOption('PAID');
    await row.locator('button').click();
    await shows(a, orderId, 2);
    await shows(b, orderId, 2);
    expect(await b.page.textContent(`#orders tr[data-order-id="${orderId}"]`)).toContain('PAID');

    // Page C, another company, places its own order: it shows there, and only there.
    await c.page.click('#place button[type="submit"]');
    await c.page.locator('#orders tr').first().waitFor();
    const otherId = (await c.page.textContent('#orders tr td.id')) ?? '';
    await shows(c, otherId, 1);

    const [logA, logB, logC] = await Promise.all([a.log(), b.log(), c.log()]);
    for (const log of [logA, logB]) {
      expect(neverOlderAfterPoke(log, orderId, 1).every((version) => version >= 1)).toBe(true);
      expect(neverOlderAfterPoke(log, orderId, 2).every((version) => version >= 2)).toBe(true);
      const versions = log.flatMap((entry) =>
        entry.kind === 'render' ? entry.rows.filter((r) => r.id === orderId).map((r) => r.version) : [],
      );
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
      expect(JSON.stringify(log)).not.toContain(otherId);
    }
    expect(JSON.stringify(logC)).not.toContain(orderId);
    expect(await c.page.textContent('#orders')).not.toContain(orderId);
    expect([a.navigations(), b.navigations(), c.navigations()]).toEqual([1, 1, 1]);

    // The time from each write of page A to its refreshed view: never less than the read view's lag.
    const writes = await a.page.locator('#writes li').allTextContents();
    const times = writes.map((text) => Number(/shown (\d+) ms after the write/.exec(text)?.[1]));
    expect(writes).toHaveLength(2);
    for (const ms of times) expect(ms).toBeGreaterThanOrEqual(projectionDelayMs);
    // And how long the refetch that showed it waited for the poke's token (on one replica: nothing to wait for).
    for (const text of writes) expect(text).toMatch(/its refetch waited \d+ ms for its token/);

    await mkdir(artifacts, { recursive: true });
    await a.page.screenshot({ path: new URL('demo-page.png', artifacts).pathname, fullPage: true });
    await writeFile(new URL('demo-page.json', artifacts), JSON.stringify({ writes }, null, 2));
  }, 60_000);

  it('renews a short token in place, with the token put in the address bar, and shows it', async () => {
    const company = `c-renew-${randomUUID().slice(0, 8)}`;
    const firstExpiresAt = (Math.floor(Date.now() / 1_000) + 10) * 1_000;
    const demo = await openDemo(company, 10);
    // The page's getToken reads the address bar's token when it renews: a longer one.
    const next = await token({ companies: [company], expiresInSec: 300 });
    await demo.page.evaluate(`location.hash = 'company=${company}&token=${next}'`);
    await demo.page.waitForSelector('#session[data-renewals="1"]', { timeout: 15_000 });
    expect(await demo.page.textContent('#session')).toMatch(/renewed 1 time without reconnecting/);
    // Past the first token's expiry, the same connection still pokes: a write shows.
    await waitFor('the first token’s expiry to pass', () => Date.now() > firstExpiresAt + 500, {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    await demo.page.click('#place button[type="submit"]');
    await demo.page.locator('#orders tr').first().waitFor();
    const orderId = (await demo.page.textContent('#orders tr td.id')) ?? '';
    await shows(demo, orderId, 1);
    const acks = (await demo.log()).filter(
      (entry) => entry.kind === 'frame' && entry.data.includes('"connection_ack"'),
    );
    expect(acks).toHaveLength(1);
    expect(await demo.page.getAttribute('#status', 'data-status')).toBe('live');
    // The load, and the hash change (a navigation within the page, not a reload).
    expect(demo.navigations()).toBe(2);
  }, 60_000);
});
