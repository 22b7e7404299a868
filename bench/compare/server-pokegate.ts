// Server C: pokegate's reference service, composed by `startApp` from the
// environment exactly as `npm start` does, plus the benchmark's stats over IPC.
// Subscriptions and read-view checks come from its own `/metrics`.
import { startApp } from '../../src/service/app.js';
import { parseConfig } from '../../src/service/config.js';
import { serveParent } from './ipc.js';
import { processStats, type ServerStats } from './workload.js';

const app = await startApp(parseConfig());
const metricsUrl = `http://127.0.0.1:${app.port}/metrics`;

/** Sums the series of `name` (those with `label` only, when given) in a Prometheus text exposition. */
function sum(text: string, name: string, label = ''): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!line.includes(label)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

serveParent(
  {
    stats: async (request): Promise<ServerStats> => {
      const own = processStats(request['gc'] === true);
      const text = await (await fetch(metricsUrl)).text();
      return {
        ...own,
        subscriptions: sum(text, 'pokegate_receivers'),
        checks: sum(text, 'pokegate_gate_checks_total'),
        brokerEvents: sum(text, 'pokegate_events_total'),
        projected: sum(text, 'pokegate_projections_total'),
        timedOut: sum(text, 'pokegate_skipped_total', 'reason="timeout"'),
        ...(text.includes('\npokegate_interest_bindings')
          ? { bindings: sum(text, 'pokegate_interest_bindings') }
          : {}),
      };
    },
  },
  { port: app.port },
  () => app.stop(),
);
