#!/usr/bin/env node
'use strict';
// The compiled CLI lives in dist/; `npm run build` (run by `npm start` and `npm test`) creates it.
require('../dist/src/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`sts: ${err && err.message ? err.message : String(err)}\n`); process.exitCode = 1; },
);
