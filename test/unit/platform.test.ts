// The platform name that picks the addon's binary (js/native.ts) tells glibc
// from musl as napi's generated loader (js/native/binding.js) does, without
// collecting a diagnostic report (process.report.getReport(): ~14 ms of
// every recorded process's start).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { NODE, ROOT } from '../helpers/run';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { muslFrom } = require('../../js/dist/native.js') as typeof import('../../js/native');
const NATIVE = path.join(ROOT, 'js', 'dist', 'native.js');

/** /usr/bin/ldd of Alpine Linux (musl). */
const MUSL_LDD = '#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list "$@"\n';
/** The first lines of glibc's /usr/bin/ldd. */
const GLIBC_LDD = '#!/bin/bash\n# Copyright (C) 1996-2022 Free Software Foundation, Inc.\n# This file is part of the GNU C Library.\n';

describe('platformName', () => {
  it('tells musl from glibc by /usr/bin/ldd, as binding.js does, without a report', () => {
    const noReport = (): never => {
      throw new Error('report read');
    };
    expect(muslFrom(MUSL_LDD, noReport)).toBe(true);
    expect(muslFrom(GLIBC_LDD, noReport)).toBe(false);
  });

  it('falls back to the report only when /usr/bin/ldd cannot be read', () => {
    expect(muslFrom(null, () => ({ header: { glibcVersionRuntime: '2.36' } }))).toBe(false);
    expect(muslFrom(null, () => ({ header: {}, sharedObjects: ['/lib/ld-musl-x86_64.so.1', '/usr/lib/libstdc++.so.6'] }))).toBe(true);
    expect(muslFrom(null, () => ({ header: {}, sharedObjects: [] }))).toBe(false);
    expect(muslFrom(null, () => undefined)).toBe(false);
  });

  it.runIf(process.platform === 'linux' && fs.existsSync('/usr/bin/ldd'))('names the binary napi`s loader loads, and collects no report', () => {
    // process.report.getReport throws in the child: platformName must not call it.
    const script = `
      process.report.getReport = () => { throw new Error('getReport called'); };
      const { platformName } = require(${JSON.stringify(NATIVE)});
      const name = platformName();
      require(${JSON.stringify(path.join(ROOT, 'js', 'native', 'binding.js'))});
      const loaded = Object.keys(require.cache).filter((k) => k.endsWith('.node')).map((k) => require('path').basename(k));
      console.log(JSON.stringify({ name, loaded }));`;
    const r = spawnSync(NODE, ['-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { name: string; loaded: string[] };
    expect(out.loaded).toEqual([`noderec.${out.name}.node`]);
  });
});
