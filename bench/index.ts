// `npm run bench`: every benchmark, one after the other, each printing its table.
import { benchAmqp } from './amqp.js';
import { benchCore } from './core.js';

console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
await benchCore();
await benchAmqp();
