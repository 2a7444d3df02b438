#!/usr/bin/env node
// The `credits` command (npx credits ...). Runs the compiled CLI from dist/, which
// `npm ci` / `npm install` build through the package's prepare script.
'use strict';

let cli;
try {
  cli = require('../dist/cli/main.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    process.stderr.write('credits: the CLI is not built yet; run `npm run build` first\n');
    process.exitCode = 1;
    return;
  }
  throw err;
}

cli
  .main(process.argv, cli.processIo())
  .then((code) => {
    process.exitCode = code;
  });
