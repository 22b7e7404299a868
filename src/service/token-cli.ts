// `npm run token -- --companies c1,c2 [--admin] [--sub alice] [--expires-in-sec 3600]`:
// prints a token for the service's AUTH_SECRET (the development secret when unset).
import { parseArgs } from 'node:util';
import { signToken } from './auth.js';
import { parseConfig } from './config.js';

const { values } = parseArgs({
  options: {
    companies: { type: 'string', default: 'c1' },
    admin: { type: 'boolean', default: false },
    sub: { type: 'string', default: 'demo-user' },
    'expires-in-sec': { type: 'string', default: '86400' },
  },
});
const expiresInSec = Number(values['expires-in-sec']);
if (!Number.isInteger(expiresInSec) || expiresInSec <= 0) {
  console.error(`Expected --expires-in-sec to be a positive integer, got "${values['expires-in-sec']}"`);
  process.exit(2);
}
const companies = values.companies
  .split(',')
  .map((company) => company.trim())
  .filter(Boolean);
console.log(
  await signToken(
    { sub: values.sub, companies, admin: values.admin, expiresInSec },
    parseConfig().authSecret,
  ),
);
