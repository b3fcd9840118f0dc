#!/usr/bin/env node
// Bundles the viewer UI (preact + htm) into js/dist/viewer/ui.js with
// esbuild. Run by `npm run build` (build:viewer); no network at run time.
'use strict';
const path = require('node:path');
const esbuild = require('esbuild');

esbuild
  .build({
    entryPoints: [path.join(__dirname, 'ui', 'main.js')],
    outfile: path.join(__dirname, '..', 'dist', 'viewer', 'ui.js'),
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['chrome110', 'firefox110', 'safari16'],
    legalComments: 'none',
    logLevel: 'warning',
  })
  .catch(() => process.exit(1));
