'use strict';
// The package's "require" entry. The package is one ES module, build/index.js, which has no
// top-level await, so Node ≥ 20.19 and ≥ 22.12 load it with require() (the same module
// instance that import gives: no second copy, no dual-package state). Older Node refuses
// with ERR_REQUIRE_ESM; say what to do instead.
try {
  module.exports = require('../build/index.js');
} catch (e) {
  if (!e || e.code !== 'ERR_REQUIRE_ESM') throw e;
  throw new Error(`softmax-ce-wasm is an ES module: require() of it needs Node ≥ 20.19 or ≥ 22.12 (this is ${process.version}` +
    `${process.execArgv.includes('--no-experimental-require-module') ? ', run with --no-experimental-require-module' : ''}). ` +
    "Use `const { init } = await import('softmax-ce-wasm')`, or a newer Node.", { cause: e });
}
