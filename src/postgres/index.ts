/**
 * PostgreSQL's side of the commit notification: a listener on one dedicated
 * connection that reconnects by itself, for the `NOTIFY` a projector sends in
 * its transaction, so each replica's gate checks right after a commit.
 *
 * @module pokegate/postgres
 */
export { createPostgresListener } from './notification-listener.js';
export type { NotificationListener, PostgresListenerOptions } from './notification-listener.js';
