import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (`main`) and ESM (`module`). Node resolves our imports and
    // graphql-yoga's to the same CJS copy; without this, vite would hand our code the
    // ESM copy and graphql would see two realms.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
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
