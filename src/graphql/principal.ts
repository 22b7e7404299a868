/**
 * Who an operation runs for, as the service's `authenticate` found it: all
 * the GraphQL side needs of it. A service's own principal (companies, roles)
 * extends it and reaches its resolvers as the context's `principal`.
 */
export interface ConnectionPrincipal {
  /** The subject (a JWT's `sub`): the key of the per-token rate limit. */
  readonly sub: string;
  /**
   * When its credentials expire (epoch ms, like `Date.now()`): a WebSocket is
   * closed with 4403 then. Absent: never.
   */
  readonly expiresAt?: number | undefined;
}
