import { readFile } from 'node:fs/promises';

const repository = new URL('../../', import.meta.url);

/**
 * The repository's production `deploy/haproxy/haproxy.cfg`, for replicas that
 * run as plain processes on loopback: only addresses change (a bind address,
 * the given servers in place of each backend's DNS template).
 */
export async function haproxyConfig(proxyPort: number, replicaPorts: readonly number[]): Promise<string> {
  const source = await readFile(new URL('deploy/haproxy/haproxy.cfg', repository), 'utf8');
  const servers = replicaPorts.map((port, i) => `server pokegate-${i + 1} 127.0.0.1:${port}`).join('\n  ');
  const config = source
    .replace(/^resolvers docker\n(?: .*\n)+/m, '')
    .replace('bind :8080', `bind 127.0.0.1:${proxyPort}`)
    .replaceAll(' resolvers docker resolve-prefer ipv4 init-addr none', '')
    .replaceAll('server-template pokegate- 8 pokegate:4000', servers);
  if (/docker|pokegate:4000/.test(config)) throw new Error('the HAProxy config still names Docker');
  return config;
}
