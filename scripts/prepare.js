#!/usr/bin/env node
// `npm install` / `npm ci` in a clone (npm's `prepare`): builds the addon,
// the TypeScript and the viewer. Without cargo on PATH (an install from a
// folder or git on a machine without Rust) the addon build is skipped with
// one line saying so, and the rest is built: the prebuilt platform package
// (noderec-<platform>) is used when installed, otherwise recording reports
// ERR_NATIVE_MISSING and programs run unrecorded.
'use strict';
const { spawnSync } = require('node:child_process');

function run(script) {
  const r = spawnSync('npm', ['run', '--silent', script], { stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const cargo = spawnSync('cargo', ['--version'], { stdio: 'ignore', shell: process.platform === 'win32' });
if (cargo.status === 0) {
  run('build:native');
} else {
  process.stderr.write(
    'noderec: cargo is not on PATH: the native addon is not built from source here. ' +
      'The prebuilt package noderec-<platform> is used if it is installed; otherwise recording ' +
      'reports ERR_NATIVE_MISSING and programs run unrecorded. Install Rust (https://rustup.rs) and run ' +
      '`npm run build:native` to build it.\n',
  );
}
run('build:ts');
run('build:viewer');
