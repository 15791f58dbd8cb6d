// ESLint (flat config): type-aware rules that catch what the compiler does not — promises left
// floating or passed where a callback's result is ignored. Run by .ci/run (`npm run lint`).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', 'clients/typescript/dist/**', 'clients/typescript/examples/**', 'clients/typescript/src/generated.ts', 'clients/python/**', '**/*.cjs', '**/*.mjs', 'jest.config.js'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
);
