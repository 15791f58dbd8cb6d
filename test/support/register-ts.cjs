// Lets `node -r ./test/support/register-ts.cjs some/main.ts` run our TypeScript directly in a child
// process (tests of the one-process-per-service layout), compiled on the fly by swc.
const { transformSync } = require('@swc/core');
const fs = require('node:fs');

require.extensions['.ts'] = function compile(module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
