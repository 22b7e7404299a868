import type { CodegenConfig } from '@graphql-codegen/cli';

// schema/*.graphql is the source of truth; `npm run codegen` regenerates the
// resolver types, and CI fails when they are out of step.
const config: CodegenConfig = {
  schema: 'schema/*.graphql',
  generates: {
    'src/generated/resolvers.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        immutableTypes: true,
        avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
        contextType: '../service/context.js#GraphQLContext',
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
  },
  hooks: { afterAllFileWrite: ['prettier --write'] },
};

export default config;
