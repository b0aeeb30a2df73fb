/**
 * @module Entry point of `npm start`: reads the environment once, starts the server, and shuts it
 * down gracefully on SIGTERM / SIGINT.
 */
import { parseConfig } from './config.js';
import { createLogger } from './log.js';
import { startServer } from './server.js';

const config = parseConfig(process.env);
const log = createLogger(config.logLevel);
if (config.devAuth) {
  log.warn(
    'JWT_SECRET is not set: using the built-in development secret. Mint tokens with `npm run token -- <identity>`. Never do this in production.',
  );
}
const server = await startServer(config, { log });

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1); // a second signal forces the exit
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (error) => {
        log.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  });
}
