import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { expectInteger } from 'pokegate';

/** The `extensions.code` of every operation refused by a limit below. */
export const operationLimitCode = 'OPERATION_LIMIT';

/** Which limit refused an operation: `extensions.limit` of the error. */
export type OperationLimit = 'tokens' | 'aliases' | 'depth' | 'cost';

/**
 * What one GraphQL operation may ask for, the same over HTTP, SSE and
 * WebSocket. The defaults are far above what the demo page or a normal UI
 * sends (a few dozen tokens, no aliases, depth 2).
 */
export interface OperationLimits {
  /**
   * Tokens of a document: counted while parsing, so a huge document is
   * refused before it is parsed in full. Minimum: 1.
   * @default 2000
   */
  readonly maxTokens?: number;
  /**
   * Aliased fields of an operation (`__typename` is free). Minimum: 0.
   * @default 20
   */
  readonly maxAliases?: number;
  /**
   * Nesting of selection sets. Minimum: 1.
   * @default 8
   */
  readonly maxDepth?: number;
  /**
   * GraphQL Armor's cost: 2 per object field and 1 per scalar field, times
   * 1.5 for every level of depth (`orders { id total }` costs 5). Minimum: 1.
   * @default 1000
   */
  readonly maxCost?: number;
}

export const defaultOperationLimits: Required<OperationLimits> = {
  maxTokens: 2_000,
  maxAliases: 20,
  maxDepth: 8,
  maxCost: 1_000,
};

/** Called once per refused operation, for a (throttled) log line and a counter. */
export type OnOperationRefused = (limit: OperationLimit, error: GraphQLError) => void;

/**
 * GraphQL Armor's plugins for yoga, with one error shape: a refused
 * operation gets a GraphQL error with `extensions.code` `OPERATION_LIMIT` and
 * `extensions.limit` naming the limit, before anything is executed. Field
 * suggestions ("Did you mean …?") are masked: they would spell out the schema.
 */
export function operationLimitPlugins(
  limits: OperationLimits = {},
  onRefused: OnOperationRefused = () => undefined,
): Plugin[] {
  const { maxTokens, maxAliases, maxDepth, maxCost } = { ...defaultOperationLimits, ...limits };
  expectInteger('maxTokens', maxTokens, 1);
  expectInteger('maxAliases', maxAliases, 0);
  expectInteger('maxDepth', maxDepth, 1);
  expectInteger('maxCost', maxCost, 1);

  const refusal = (limit: OperationLimit, error: GraphQLError): GraphQLError => {
    const coded = new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
      extensions: { code: operationLimitCode, limit },
    });
    onRefused(limit, coded);
    return coded;
  };
  // Validation rules report the refusal as a validation error: a throw would escape graphql-ws's
  // onSubscribe. The parser throws it instead, so that it stops at the limit.
  const report =
    (limit: OperationLimit) =>
    (context: ValidationContext | null, error: GraphQLError): void => {
      context?.reportError(refusal(limit, error));
    };
  const common = { exposeLimits: true, propagateOnRejection: false } as const;
  return [
    maxTokensPlugin({
      n: maxTokens,
      exposeLimits: true,
      propagateOnRejection: true,
      onReject: [
        (_context, error) => {
          throw refusal('tokens', error);
        },
      ],
    }),
    maxAliasesPlugin({ ...common, n: maxAliases, onReject: [report('aliases')] }),
    maxDepthPlugin({ ...common, n: maxDepth, onReject: [report('depth')] }),
    costLimitPlugin({ ...common, maxCost, onReject: [report('cost')] }),
    blockFieldSuggestionsPlugin({ mask: '' }),
  ] as Plugin[];
}
