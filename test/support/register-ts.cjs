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

// ESM-style sources (clients/typescript) import './x.js' for Node: find the './x.ts' beside it.
const Module = require('node:module');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveTs(request, parent, ...rest) {
  try {
    return resolveFilename.call(this, request, parent, ...rest);
  } catch (err) {
    if (!(request.startsWith('.') && request.endsWith('.js'))) throw err;
    return resolveFilename.call(this, `${request.slice(0, -3)}.ts`, parent, ...rest);
  }
};
