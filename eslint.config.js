// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'coverage/', 'node_modules/', 'src/service/generated/', 'test/artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js'] },
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
    // The library never reaches into a service that uses it.
    files: ['src/**/*.ts'],
    ignores: ['src/service/**', 'src/examples/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)(service|examples)(/|$)',
              message: 'The library must not import a service that uses it.',
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
