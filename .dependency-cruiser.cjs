// Import cycles, type-only ones included, make a file that cannot be read after the files it
// imports. The layers themselves are linted in eslint.config.js.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle of imports: move the shared part (often a type) to a file both can import.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist|build)/|/generated/' },
    doNotFollow: { path: 'node_modules' },
  },
};
