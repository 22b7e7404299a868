// The orders service's read-after token: "order O of company C at version V",
// signed with the library's read-after tokens, the company as the scope.
import { createReadAfterTokens, InvalidReadAfterTokenError } from 'pokegate/graphql';

/** What a token stands for. */
export interface OrderVersion {
  readonly companyId: string;
  readonly orderId: string;
  readonly version: number;
}

export interface OrderTokens {
  /** The token of `change`: `v1.<payload>.<mac>`, base64url, about 80 characters. */
  sign(change: OrderVersion): string;
  /** What `token` stands for; throws `InvalidReadAfterTokenError` for a malformed or forged one. */
  verify(token: string): OrderVersion;
}

export { InvalidReadAfterTokenError as InvalidOrderTokenError };

/** Signs and verifies order tokens with a key derived from `secret` (`AUTH_SECRET`). */
export function createOrderTokens(secret: string | Uint8Array): OrderTokens {
  const tokens = createReadAfterTokens({ secret });
  return {
    sign: ({ companyId, orderId, version }) => tokens.sign({ scope: companyId, key: orderId, version }),
    verify(token) {
      const { scope, key, version } = tokens.verify(token);
      return { companyId: scope, orderId: key, version };
    },
  };
}
