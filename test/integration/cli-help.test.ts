// A CLI that answers (issue 15): `--help` for every subcommand, `--version`,
// and after `noderec record` the next step. Each test spawns the real bin.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { SETTINGS } from '../../js/policy/model';
import { NODE, ROOT, fixture, runCli, tempDir } from '../helpers/run';

const COMMANDS = ['record', 'ls', 'show', 'export', 'calls', 'traces', 'info', 'timeline', 'tree', 'history', 'compare', 'view', 'report'];

describe('noderec --help, per subcommand', () => {
  for (const cmd of COMMANDS) {
    it(`${cmd} --help prints its usage on stdout and exits 0`, () => {
      // An empty out dir: `ls --help` must not list it, `show --help` must not look for a trace.
      const r = runCli([cmd, '--help'], { env: { NODEREC_OUT_DIR: tempDir() } });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: noderec ${cmd}\\b`));
      expect(r.stdout).not.toContain('no traces in');
      // -h is the same.
      expect(runCli([cmd, '-h']).stdout).toBe(r.stdout);
      // So is `noderec help <cmd>`.
      expect(runCli(['help', cmd]).stdout).toBe(r.stdout);
    });
  }

  it('record --help lists every setting of the table, with its variable', () => {
    const r = runCli(['record', '--help']);
    for (const s of SETTINGS) {
      expect(r.stdout).toContain(s.flag);
      expect(r.stdout).toContain(s.env);
    }
  });

  it('--help after the command belongs to the command', () => {
    const r = runCli(['record', '--', NODE, '-e', 'console.log(process.argv.slice(1).join(" "))', '--', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('--help\n');
  });

  it('noderec --help lists every subcommand', () => {
    const r = runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
  });
});

describe('noderec --version', () => {
  it('prints the package version', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`noderec ${version}\n`);
    }
  });
});

describe('after noderec record', () => {
  it('prints the next step: commands that open and export the trace, which work as printed', () => {
    const outDir = tempDir();
    const r = runCli(['record', '--out-dir', outDir, '--', NODE, fixture('fib', 'main.js')]);
    expect(r.code).toBe(0);
    const next = r.stderr.split('\n').find((l) => l.startsWith('noderec: next:'));
    expect(next, r.stderr).toBeDefined();
    const view = /noderec view (\S+) --open/.exec(next!);
    const exp = /noderec export (\S+) --format speedscope -o (\S+)/.exec(next!);
    expect(view).not.toBeNull();
    expect(exp).not.toBeNull();
    // The export command runs as printed (from the same working directory).
    const out = path.join(tempDir(), 'fib.speedscope.json');
    const e = runCli(['export', exp![1], '--format', 'speedscope', '-o', out]);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).$schema).toContain('speedscope');
    // The viewer's argument names the same trace.
    expect(view![1]).toBe(exp![1]);
  });

  it('names the run when it recorded several processes', () => {
    const outDir = tempDir();
    const r = runCli(['record', '--out-dir', outDir, '--', NODE, fixture('lifecycle-children', 'parent.js')]);
    expect(r.code).toBe(0);
    const next = r.stderr.split('\n').find((l) => l.startsWith('noderec: next:'));
    expect(next, r.stderr).toMatch(/noderec ls \S+/);
    expect(next).toMatch(/noderec view \S+ --open/);
  });
});
