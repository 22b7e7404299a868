import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// The service, the tests and the benchmarks import the library by its package
// name (`pokegate/amqp`), as any user does; here those imports run the sources
// that each entry's `pokegate-source` condition names.
const { exports: entries } = JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, string | Record<string, string>>;
};
const library = Object.entries(entries).flatMap(([subpath, target]) =>
  typeof target === 'object' && target['pokegate-source'] !== undefined
    ? [
        {
          find: new RegExp(`^${subpath.replace('.', 'pokegate')}$`),
          replacement: new URL(target['pokegate-source'], import.meta.url).pathname,
        },
      ]
    : [],
);

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (`main`) and ESM (`module`). Node resolves our imports and
    // graphql-yoga's to the same CJS copy; without this, vite would hand our code the
    // ESM copy and graphql would see two realms.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }, ...library],
  },
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'tests',
          include: ['test/**/*.test.ts'],
          exclude: ['test/faults/**'],
          // Not 0: on a machine with one worker, vitest would move a group 0 after every other group.
          sequence: { groupOrder: 1 },
        },
      },
      {
        // The broker faults (closing every connection, stopping the broker) would
        // break any other test using RabbitMQ at the same time: they run in a
        // group of their own, one file after the other, once every other test
        // has finished.
        extends: true,
        test: {
          name: 'broker-faults',
          include: ['test/faults/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
