#!/usr/bin/env node
// The napi-generated declarations of the addon are the contract between Rust
// and TypeScript (README "Layout", design-docs/architecture.md):
//
//   npm run build:native   writes js/native/binding.generated.d.ts (not committed)
//   js/native/binding.d.ts  the committed copy the TypeScript imports;
//                           test/unit/binding-contract.test.ts fails when the two differ
//
//   node scripts/binding-types.js update   accept what the build generated
//   node scripts/binding-types.js dist     copy the committed declarations next to
//                                          js/dist (the emitted .d.ts files import them)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const native = path.join(__dirname, '..', 'js', 'native');
const generated = path.join(native, 'binding.generated.d.ts');
const committed = path.join(native, 'binding.d.ts');

switch (process.argv[2]) {
  case 'update':
    fs.copyFileSync(generated, committed);
    break;
  case 'dist': {
    const out = path.join(__dirname, '..', 'js', 'dist', 'native');
    fs.mkdirSync(out, { recursive: true });
    fs.copyFileSync(committed, path.join(out, 'binding.d.ts'));
    break;
  }
  default:
    process.stderr.write('usage: node scripts/binding-types.js update|dist\n');
    process.exitCode = 2;
}
