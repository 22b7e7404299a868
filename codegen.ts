import type { CodegenConfig } from '@graphql-codegen/cli';

// schema/*.graphql is the source of truth; `npm run codegen` regenerates the
// resolver types and the client's typed documents, and CI fails when they are
// out of step.
const config: CodegenConfig = {
  schema: 'schema/*.graphql',
  generates: {
    'src/service/generated/resolvers.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        immutableTypes: true,
        avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
        contextType: '../context.js#GraphQLContext',
        mappers: {
          Order: '../orders/types.js#Order as OrderModel',
          OrderChange: '../orders/types.js#OrderChange as OrderChangeModel',
          WriteReceipt: '../orders/types.js#WriteReceipt as WriteReceiptModel',
        },
        scalars: { ID: 'string' },
        useIndexSignature: false,
        emitLegacyCommonJSImports: false,
      },
    },
    // The demo page's operations as typed documents: a query's result and
    // variables types travel with the document into the client.
    'src/service/generated/operations.ts': {
      documents: 'src/service/demo/*.graphql',
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        useTypeImports: true,
        enumType: 'string-literal',
        immutableTypes: true,
        avoidOptionals: true,
        scalars: { ID: 'string' },
      },
    },
  },
  hooks: { afterAllFileWrite: ['prettier --write'] },
};

export default config;
