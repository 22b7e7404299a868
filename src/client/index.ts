/**
 * Live queries over graphql-ws that refetch on every poke, on a connection
 * whose token is renewed in place before it expires (`getToken`). Browser-safe.
 *
 * @module pokegate/client
 */
export { createLiveClient } from './live-client.js';
export { withTenantHint } from './tenant-hint.js';
export type {
  LiveClient,
  LiveClientOptions,
  ConnectionStatus,
  RequestOptions,
} from './live-client-options.js';
export type {
  LiveQuery,
  LiveQueryOptions,
  LiveQueryStatus,
  LiveQueryStats,
  LiveQueryUpdate,
  FetchReason,
} from './live-query-options.js';
export type { WebSocketConstructor } from './session.js';
export { tokenExpiry } from './session-renewal.js';
export type { SessionRenewalOptions, RenewalEvent } from './session-renewal.js';
export type { TypedDocumentNode, OperationVariables } from './document.js';
export { OperationError, ConnectionClosedError, ConnectionFailedError } from './errors.js';
export { DisposedError } from '../common/errors.js';
export type { CloseInfo } from './errors.js';
