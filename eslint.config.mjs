// ESLint (flat config): type-aware rules that catch what the compiler does not — promises left
// floating or passed where a callback's result is ignored, and imports, variables and arguments
// nobody uses (a leading _ marks an argument kept for its position). Run by .ci/run (`npm run lint`).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '.data/**',
      'clients/typescript/dist/**',
      'clients/typescript/examples/**',
      'clients/typescript/src/generated.ts',
      'subgraphs/*/generated/**',
      'clients/python/**',
      '**/*.cjs',
      '**/*.mjs',
      'jest.config.js',
    ],
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
);
