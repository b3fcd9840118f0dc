// scripts/prepare.js, npm's `prepare`: `npm ci` in a clone builds everything;
// `npx noderec` inside the clone makes npm install the clone into its npx
// cache and run `prepare` again (npm_command=exec): that second build took
// 18 s before the first recording of a fresh clone, and is skipped when the
// clone is built. A fake `npm` and `cargo` first on PATH tell whether the
// script started a build.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { ROOT, tempDir } from '../helpers/run';

function prepare(env: Record<string, string>): { code: number | null; built: boolean } {
  const bin = tempDir('noderec-prepare-');
  const marker = path.join(bin, 'ran');
  for (const tool of ['npm', 'cargo']) {
    fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\necho "$0 $*" >> '${marker}'\nexit 0\n`, { mode: 0o755 });
  }
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_')) clean[k] = v;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'prepare.js')], {
    cwd: ROOT,
    env: { ...clean, PATH: `${bin}${path.delimiter}${process.env.PATH}`, ...env },
  });
  return { code: r.status, built: fs.existsSync(marker) };
}

describe('scripts/prepare.js', () => {
  it('builds at npm install / npm ci', () => {
    expect(prepare({ npm_command: 'ci' })).toEqual({ code: 0, built: true });
  });
  it('does nothing under npx in a built clone (npm_command=exec)', () => {
    expect(fs.existsSync(path.join(ROOT, 'js', 'dist', 'index.js'))).toBe(true);
    expect(prepare({ npm_command: 'exec' })).toEqual({ code: 0, built: false });
  });
});
