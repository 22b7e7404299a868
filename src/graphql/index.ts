/**
 * The GraphQL side: a yoga plugin that executes each subscription's selection
 * once per poke and shares the result with every subscriber; graphql-ws over
 * `ws` on the HTTP server's port, hardened (origins, frame and buffer limits,
 * `connection_init` timeout, subscriptions per socket, token expiry, rate
 * limits, masked internal errors) and sending pokes straight to the
 * socket; and read-after tokens (a plugin that holds a request until the
 * changes its tokens stand for are visible on this replica).
 *
 * @module pokegate/graphql
 */
export { useSharedSubscriptionExecution } from './shared-subscription-plugin.js';
export { attachWebSocket } from './websocket.js';
export type { WebSocketOptions, WebSocketDeps, WebSocketEndpoint } from './websocket.js';
export type { EnvelopedServer } from './enveloped-server.js';
export type { ConnectionPrincipal } from './principal.js';
export { createInternalErrors, internalErrorCode } from './internal-errors.js';
export type { InternalErrors, InternalErrorsOptions } from './internal-errors.js';
export { createOperationRateLimit, rateLimitedCode, rateLimitedError } from './operation-rate-limit.js';
export type {
  OperationRateLimit,
  OperationRateLimitOptions,
  ConnectionAdmission,
} from './operation-rate-limit.js';
export type { RateLimitOptions } from './rate-limit.js';
export { createReadAfter } from './read-after.js';
export type {
  ReadAfter,
  ReadAfterOptions,
  ReadAfterObserver,
  ReadAfterEvent,
  ReadAfterOutcome,
  ReadAfterExtension,
  VersionTarget,
  VisibilityCheck,
} from './read-after.js';
export { createReadAfterTokens, InvalidReadAfterTokenError } from './read-after-token.js';
export type { ReadAfterTokens, ReadAfterTokensOptions, SignedVersion } from './read-after-token.js';
