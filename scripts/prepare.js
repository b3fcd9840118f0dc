#!/usr/bin/env node
// `npm install` / `npm ci` in a clone (npm's `prepare`): builds the addon,
// the TypeScript and the viewer. Without cargo on PATH (an install from a
// folder or git on a machine without Rust) the addon build is skipped with
// one line saying so, and the rest is built: the prebuilt platform package
// (noderec-<platform>) is used when installed, otherwise recording reports
// ERR_NATIVE_MISSING and programs run unrecorded.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

// `npx noderec` inside the clone: npm installs the clone into its npx cache
// and runs this script again (npm_command=exec), which rebuilt everything
// (about 18 s) before the first recording. Nothing to do once `npm ci` built it.
const root = path.join(__dirname, '..');
const built = () =>
  fs.existsSync(path.join(root, 'js', 'dist', 'index.js')) &&
  fs.existsSync(path.join(root, 'js', 'dist', 'viewer', 'ui.js')) &&
  fs.existsSync(path.join(root, 'js', 'native')) &&
  fs.readdirSync(path.join(root, 'js', 'native')).some((f) => f.endsWith('.node'));
if (process.env.npm_command === 'exec' && built()) process.exit(0);

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

// The transparency corpus's vitest 4 project has its own dependencies (the
// repository's own tests run on vitest 3): installed here, from its lockfile,
// when the tests are part of this checkout.
const vitest4 = path.join(__dirname, '..', 'test', 'corpus', 'vitest4');
if (fs.existsSync(path.join(vitest4, 'package-lock.json')) && !fs.existsSync(path.join(vitest4, 'node_modules', 'vitest', 'package.json'))) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_')) env[k] = v;
  const r = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: vitest4, stdio: 'inherit', env, shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
