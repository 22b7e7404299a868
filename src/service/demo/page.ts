// The demo page: the orders of one company, kept live by the client's live
// query, with writes that go through the owning service (the mutations) and a
// measure of how long each takes to show. It reads `#company=c1&token=<jwt>`.
import { reasonOf } from 'pokegate';
import { createLiveClient, tokenExpiry } from 'pokegate/client';
import type { LiveQueryStatus, LiveQueryUpdate, RenewalEvent } from 'pokegate/client';
import {
  OrdersChangedDocument,
  OrdersDocument,
  PlaceOrderDocument,
  SetOrderStatusDocument,
  type OrderStatus,
  type OrdersQuery,
} from '../generated/operations.js';
import { ordersFresh } from './freshness.js';

type Order = OrdersQuery['orders'][number];

/** A write, from sending it to seeing it in the view. */
interface Write {
  readonly label: string;
  readonly sentAt: number;
  orderId?: string;
  version?: number;
  shownAfterMs?: number;
  /** How long the refetch that showed it waited on the server for the poke's read-after token. */
  tokenWait?: ReadAfterWait;
  failure?: string;
}

/** The server's `extensions.pokegate` of an answer fetched with read-after tokens. */
interface ReadAfterWait {
  readonly waitedMs: number;
  readonly stale: boolean;
}

const statuses: readonly OrderStatus[] = ['PLACED', 'PAID', 'SHIPPED', 'CANCELLED'];
const maxWritesShown = 20;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`The page has no #${id}`);
  return found as T;
}

const view = {
  company: element('company'),
  status: element('status'),
  problem: element<HTMLParagraphElement>('problem'),
  place: element<HTMLFormElement>('place'),
  total: element<HTMLInputElement>('total'),
  orders: element<HTMLTableSectionElement>('orders'),
  empty: element('empty'),
  writes: element<HTMLOListElement>('writes'),
  session: element<HTMLParagraphElement>('session'),
};

const fragment = new URLSearchParams(location.hash.slice(1));
const companyId = fragment.get('company') ?? '';
const token = fragment.get('token') ?? '';
/** The token in the address bar now: a new one pasted there goes with the next renewal or connection. */
const currentToken = (): string => new URLSearchParams(location.hash.slice(1)).get('token') ?? token;
let renewals = 0;
const writes: Write[] = [];
/** How the data shown now was fetched. */
let lastUpdate: LiveQueryUpdate | undefined;
/** The latest write's time to the view, by order. */
const shownAfter = new Map<string, number>();

function showProblem(message: string): void {
  view.problem.textContent = message;
  view.problem.hidden = false;
}

const clockTime = (epochMs: number | undefined): string =>
  epochMs === undefined ? 'never' : new Date(epochMs).toLocaleTimeString();

/** The session line: when the token expires, and how often it was renewed without reconnecting. */
function showSession(event?: RenewalEvent): void {
  if (event?.outcome === 'failed') {
    view.session.textContent = `Renewal failed (${event.error.message}): reconnecting with the token in the address bar.`;
    view.session.dataset['renewal'] = 'failed';
    return;
  }
  if (event !== undefined) renewals++;
  const expiresAt = event === undefined ? tokenExpiry(currentToken()) : event.expiresAt;
  view.session.textContent =
    `Token expires ${clockTime(expiresAt)}; renewed ${renewals} time${renewals === 1 ? '' : 's'} ` +
    `without reconnecting${event === undefined ? '' : ` (last at ${clockTime(Date.now())})`}.`;
  view.session.dataset['renewals'] = String(renewals);
}

function showStatus(status: LiveQueryStatus | 'missing'): void {
  view.status.textContent = status;
  view.status.dataset['status'] = status;
}

function statusCell(order: Order): HTMLTableCellElement {
  const cell = document.createElement('td');
  const select = document.createElement('select');
  select.setAttribute('aria-label', `New status of order ${order.id}`);
  for (const status of statuses) select.add(new Option(status, status, false, status === order.status));
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Set';
  button.addEventListener('click', () => {
    const status = select.value as OrderStatus;
    void write(`set ${order.id} to ${status}`, async () => {
      const receipt = await client.request(SetOrderStatusDocument, { id: order.id, status });
      return receipt.setOrderStatus;
    });
  });
  cell.append(select, ' ', button);
  return cell;
}

function textCell(text: string, className?: string): HTMLTableCellElement {
  const cell = document.createElement('td');
  cell.textContent = text;
  if (className !== undefined) cell.className = className;
  return cell;
}

function renderOrders(orders: readonly Order[]): void {
  const rows = orders.map((order) => {
    const row = document.createElement('tr');
    row.dataset['orderId'] = order.id;
    row.dataset['version'] = String(order.version);
    const after = shownAfter.get(order.id);
    row.append(
      textCell(order.id, 'id'),
      textCell(order.status),
      textCell(order.total.toFixed(2), 'number'),
      textCell(`v${order.version}`, 'number version'),
      statusCell(order),
      textCell(after === undefined ? '—' : `${after} ms`, 'number'),
    );
    return row;
  });
  view.orders.replaceChildren(...rows);
  view.empty.hidden = orders.length > 0;
}

function renderWrites(): void {
  view.writes.replaceChildren(
    ...writes.map((entry) => {
      const item = document.createElement('li');
      const target = entry.version === undefined ? '' : ` (v${entry.version})`;
      const outcome =
        entry.failure ??
        (entry.shownAfterMs === undefined
          ? 'waiting for the view…'
          : `shown ${entry.shownAfterMs} ms after the write`);
      item.textContent = `${entry.label}${target}: ${outcome}${tokenWaitText(entry.tokenWait)}`;
      return item;
    }),
  );
}

function tokenWaitText(wait: ReadAfterWait | undefined): string {
  if (wait === undefined) return '';
  const stale = wait.stale ? ' (gave up: this replica was too far behind)' : '';
  return `; its refetch waited ${wait.waitedMs} ms for its token${stale}`;
}

/** The read-after part of an answer's extensions, when it has one. */
function tokenWaitOf(update: LiveQueryUpdate | undefined): ReadAfterWait | undefined {
  const pokegate = update?.extensions?.['pokegate'];
  if (typeof pokegate !== 'object' || pokegate === null) return undefined;
  const { waitedMs, stale } = pokegate as Record<string, unknown>;
  return typeof waitedMs === 'number' ? { waitedMs, stale: stale === true } : undefined;
}

/** Marks the writes the view now shows (`update`: the answer that shows it); true when any was. */
function settle(data: OrdersQuery | undefined, update?: LiveQueryUpdate): boolean {
  if (data === undefined) return false;
  let settled = false;
  for (const entry of writes) {
    if (entry.shownAfterMs !== undefined || entry.orderId === undefined || entry.version === undefined)
      continue;
    const { orderId, version } = entry;
    if (data.orders.some((order) => order.id === orderId && order.version >= version)) {
      entry.shownAfterMs = Math.round(performance.now() - entry.sentAt);
      const wait = tokenWaitOf(update);
      if (wait !== undefined) entry.tokenWait = wait;
      shownAfter.set(orderId, entry.shownAfterMs);
      settled = true;
    }
  }
  return settled;
}

async function write(
  label: string,
  send: () => Promise<{ orderId: string; version: number }>,
): Promise<void> {
  const entry: Write = { label, sentAt: performance.now() };
  writes.unshift(entry);
  writes.length = Math.min(writes.length, maxWritesShown);
  renderWrites();
  try {
    const receipt = await send();
    entry.orderId = receipt.orderId;
    entry.version = receipt.version;
    if (settle(live.data, lastUpdate) && live.data !== undefined) renderOrders(live.data.orders);
  } catch (error) {
    entry.failure = reasonOf(error);
  }
  renderWrites();
}

view.company.textContent = companyId || '?';
if (companyId === '' || token === '') {
  showStatus('missing');
  showProblem(
    'Open this page as /#company=c1&token=<jwt>; `npm run token -- --companies c1` prints a token.',
  );
  view.place.hidden = true;
  throw new Error('No company or token in the URL fragment');
}

const client = createLiveClient({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
  // Behind the production proxy, one company's viewers meet on one replica.
  tenant: companyId,
  getToken: currentToken,
  onRenewal: showSession,
  onStatus: (status) => {
    if (status === 'connected') showSession();
  },
});
const live = client.liveQuery({
  query: OrdersDocument,
  variables: { companyId },
  pokes: OrdersChangedDocument,
  pokeVariables: { companyId },
  isFresh: ordersFresh,
  onData: (data, update) => {
    lastUpdate = update;
    settle(data, update);
    renderOrders(data.orders);
    renderWrites();
  },
  onStatus: (status) => {
    showStatus(status);
    if (status === 'live') view.problem.hidden = true;
  },
  onError: (error) => showProblem(error.message),
});

view.place.addEventListener('submit', (event) => {
  event.preventDefault();
  const total = view.total.valueAsNumber;
  void write(`place an order of ${total.toFixed(2)}`, async () => {
    const receipt = await client.request(PlaceOrderDocument, { companyId, total });
    return receipt.placeOrder;
  });
});
addEventListener('pagehide', () => void client.dispose());
// Back from the back-forward cache, the client is gone: start afresh.
addEventListener('pageshow', (event) => {
  if (event.persisted) location.reload();
});
