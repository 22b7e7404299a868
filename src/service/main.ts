// `npm start`: the reference service, configured from the environment.
import { ConfigError, parseConfig } from './config.js';
import { startApp } from './app.js';

let config;
try {
  config = parseConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`pokegate: ${error.message}`);
  process.exit(2);
}

const app = await startApp(config);
let signalled = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (signalled) return;
    signalled = true;
    app.logger.info({ signal }, 'signal received');
    // A second chance for a stuck shutdown: past the deadline, exit anyway.
    setTimeout(() => {
      app.logger.error('shutdown deadline passed, exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5_000).unref();
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        app.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
