import type { DocumentNode, ExecutionArgs, GraphQLError, GraphQLSchema } from 'graphql';

/** What the socket needs of yoga: its envelop, so plugins and context apply to WebSocket operations too. */
export interface EnvelopedServer {
  getEnveloped(initialContext: Record<string, unknown>): {
    readonly schema: GraphQLSchema;
    readonly execute: (args: ExecutionArgs) => unknown;
    readonly subscribe: (args: ExecutionArgs) => unknown;
    readonly contextFactory: () => unknown;
    readonly parse: (source: string) => DocumentNode;
    readonly validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[];
  };
}
