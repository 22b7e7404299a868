// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The library's layers, from the bottom up: each folder may import only the folders named for it
// (import cycles, type-only ones included, are refused by `.dependency-cruiser.cjs`).
// `common` (logger, errors, validation, abort, backoff, clock) and `core` (registry, gate,
// observer) import nothing of the library above them; the adapters build on `transport` and
// `core`, and never import each other.
const layers = {
  common: [],
  core: ['common'],
  transport: ['common', 'core'],
  client: ['common', 'core'],
  amqp: ['common', 'core', 'transport'],
  bus: ['common', 'core', 'transport'],
  graphql: ['common', 'core'],
  postgres: ['common', 'core'],
  metrics: ['common', 'core', 'transport'],
};
const folders = Object.keys(layers);
const layerRules = Object.entries(layers).map(([layer, allowed]) => {
  const forbidden = folders.filter((folder) => folder !== layer && !allowed.includes(folder));
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${[...forbidden, 'service', 'examples'].join('|')})(/|$)|^(\\.\\./)+index\\.js$`,
              message: `\`src/${layer}\` may import only ${allowed.length === 0 ? 'itself' : allowed.map((folder) => `\`src/${folder}\``).join(', ')}: see the layers in eslint.config.js.`,
            },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'coverage/', 'node_modules/', 'src/service/generated/', 'test/artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '.*.cjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // A type parameter that only shapes a result is how callers say what they expect back.
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
    },
  },
  {
    // The reference service and the examples are users of the library: they import the
    // package's entries (`pokegate`, `pokegate/amqp`, …), never the library's files, and
    // an example never borrows from the reference service.
    files: ['src/service/**/*.ts', 'src/examples/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex:
                '^(\\.\\./)+(core|transport|amqp|bus|graphql|metrics|client|postgres)(/|$)|^(\\.\\./)+index\\.js$',
              message:
                'A service uses the library through its public entries: import from "pokegate" or "pokegate/<entry>".',
            },
            {
              regex: '^(\\.\\./)+service(/|$)',
              message: 'An example stands alone: it does not import the reference service.',
            },
          ],
        },
      ],
    },
  },
  {
    // The hello world reads as yoga's own documentation does: `createServer(yoga)`, whose
    // handler returns a promise that node:http ignores (yoga answers its own errors).
    files: ['src/examples/hello-world/**/*.ts'],
    rules: {
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  // The library never reaches into a service that uses it, and each layer imports only those below it.
  ...layerRules,
  { files: ['**/*.js', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } } },
);
