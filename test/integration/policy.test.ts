// Policy through real processes: bad values under the preload, max_events,
// value bounds, capture_io, require_trace, keep_partial_trace, logging,
// precedence of flags over the environment.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { events, fixture, metadata, onlyTrace, runCli, runNode, tempDir, traceDirs, NODE } from '../helpers/run';

const FIB = fixture('fib', 'main.js');

describe('bad values under the preload', () => {
  it('abort (default): one error line naming variable, value and accepted values; the program does not run; exit 1', () => {
    const r = runNode(FIB, { env: { NODEREC_MAX_EVENTS: 'lots', NODEREC_JSON_ERRORS: '1' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'error', code: 'ERR_INVALID_POLICY_VALUE' });
    expect(lines[0].message).toContain('NODEREC_MAX_EVENTS="lots"');
    expect(lines[0].message).toContain('an integer >= 0');
    expect(lines[1]).toMatchObject({ error_code: 'ERR_INVALID_POLICY_VALUE', error_kind: 'policy', trace_id: '' });
    expect(traceDirs(r.outDir)).toEqual([]);
  });

  it('disable: logged, and the program runs unrecorded', () => {
    const r = runNode(FIB, { env: { NODEREC_VALUE_DEPTH: 'deep', NODEREC_ON_RECORDER_ERROR: 'disable' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('55\n');
    expect(JSON.parse(r.stderr.trim())).toMatchObject({ level: 'error', code: 'ERR_INVALID_POLICY_VALUE' });
    expect(traceDirs(r.outDir)).toEqual([]);
  });

  it('a trace directory that cannot be created: ERR_TRACE_DIR_CREATE_FAILED, abort and disable', () => {
    const file = path.join(tempDir(), 'a-file');
    fs.writeFileSync(file, '');
    const abort = runNode(FIB, { env: { NODEREC_OUT_DIR: path.join(file, 'sub') } });
    expect(abort.code).toBe(1);
    expect(JSON.parse(abort.stderr.trim().split('\n')[0]).code).toBe('ERR_TRACE_DIR_CREATE_FAILED');
    const disable = runNode(FIB, { env: { NODEREC_OUT_DIR: path.join(file, 'sub'), NODEREC_ON_RECORDER_ERROR: 'disable' } });
    expect(disable.code).toBe(0);
    expect(disable.stdout).toBe('55\n');
  });
});

describe('settings reach the recorder', () => {
  it('NODEREC_DISABLED: nothing recorded, nothing printed', () => {
    const r = runNode(FIB, { env: { NODEREC_DISABLED: 'YES' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('55\n');
    expect(r.stderr).toBe('');
    expect(traceDirs(r.outDir)).toEqual([]);
  });

  it('NODEREC_MAX_EVENTS: recording stops after N events, metadata says truncated, the program is unaffected', () => {
    const r = runNode(FIB, { env: { NODEREC_MAX_EVENTS: '50' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('55\n');
    expect(r.stderr).toBe('');
    const dir = onlyTrace(r.outDir);
    expect(metadata(dir)).toMatchObject({ truncated: true, events: 50, status: 'complete' });
    expect(events(dir)).toHaveLength(50);
    const full = metadata(onlyTrace(runNode(FIB).outDir));
    expect(full.truncated).toBe(false);
    expect(full.events).toBeGreaterThan(50);
  });

  it('NODEREC_VALUE_DEPTH, _ITEMS, _STRING reach the value encoder', () => {
    const f = fixture('lifecycle-values', 'main.js');
    const args = (env: Record<string, string>): unknown[] => {
      const r = runNode(f, { env });
      expect(r.stdout).toBe('33\n');
      return events(onlyTrace(r.outDir)).find((e) => e.kind === 'call' && e.fn === 'take')!.args!;
    };
    const wide = args({});
    expect(JSON.stringify(wide)).toContain('abcdefghijklmnopqrstuvwxyz');
    const narrow = args({ NODEREC_VALUE_STRING: '5', NODEREC_VALUE_ITEMS: '2', NODEREC_VALUE_DEPTH: '1' });
    const text = JSON.stringify(narrow);
    expect(text).toContain('abcde');
    expect(text).not.toContain('abcdef');
    expect(JSON.stringify(narrow[1])).not.toContain('3');
    expect(text).not.toContain('"d"');
    expect(narrow).not.toEqual(wide);
  });

  it('NODEREC_CAPTURE_VALUES=0 records calls without values', () => {
    const r = runNode(FIB, { env: { NODEREC_CAPTURE_VALUES: '0' } });
    const call = events(onlyTrace(r.outDir)).find((e) => e.kind === 'call' && e.fn === 'fib')!;
    expect(call.args ?? []).toEqual([]);
  });

  it('NODEREC_CAPTURE_IO=off records no output', () => {
    const on = events(onlyTrace(runNode(FIB).outDir)).filter((e) => e.kind === 'output');
    expect(on.length).toBeGreaterThan(0);
    const off = events(onlyTrace(runNode(FIB, { env: { NODEREC_CAPTURE_IO: 'off' } }).outDir)).filter((e) => e.kind === 'output');
    expect(off).toEqual([]);
  });

  it('NODEREC_LOG_LEVEL and NODEREC_LOG_FILE: debug lines go to the file, stderr stays clean', () => {
    const log = path.join(tempDir(), 'l.jsonl');
    const r = runNode(FIB, { env: { NODEREC_LOG_LEVEL: 'debug', NODEREC_LOG_FILE: log } });
    expect(r.stderr).toBe('');
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.some((l) => l.level === 'debug' && l.message === 'recording started')).toBe(true);
    const stderrDebug = runNode(FIB, { env: { NODEREC_LOG_LEVEL: 'debug' } });
    expect(stderrDebug.stdout).toBe('55\n');
    expect(stderrDebug.stderr.trim().split('\n').every((l) => JSON.parse(l).level === 'debug')).toBe(true);
    // The recorder's lines are never recorded as program output.
    const outputs = events(onlyTrace(stderrDebug.outDir)).filter((e) => e.kind === 'output');
    expect(outputs.map((e) => e.text)).toEqual(['55\n']);
  });

  it('NODEREC_KEEP_PARTIAL_TRACE decides whether a failed recording stays (as partial)', () => {
    const f = fixture('lifecycle-fail', 'main.js');
    const env = { NODEREC_TEST_GUARD: '1', NODEREC_TEST_FAIL_AT: 'write' };
    expect(traceDirs(runNode(f, { env }).outDir)).toEqual([]);
    const kept = runNode(f, { env: { ...env, NODEREC_KEEP_PARTIAL_TRACE: 'on' } });
    expect(kept.code).toBe(1);
    expect(metadata(onlyTrace(kept.outDir))).toMatchObject({ status: 'partial', error: { code: 'ERR_IO', point: 'write' } });
  });

  it('NODEREC_REQUIRE_TRACE passes when events were recorded', () => {
    const r = runNode(FIB, { env: { NODEREC_REQUIRE_TRACE: '1' } });
    expect(r.code).toBe(0);
    expect(metadata(onlyTrace(r.outDir)).status).toBe('complete');
  });

  it('CLI flags beat the environment', () => {
    const r = runCli(['record', '--max-events', '10', '--', NODE, FIB], { env: { NODEREC_MAX_EVENTS: '40' } });
    expect(r.code).toBe(0);
    expect(metadata(onlyTrace(r.outDir))).toMatchObject({ events: 10, truncated: true });
    const envOnly = runCli(['record', '--', NODE, FIB], { env: { NODEREC_MAX_EVENTS: '40' } });
    expect(metadata(onlyTrace(envOnly.outDir)).events).toBe(40);
  });
});

describe('policy strictness', () => {
  const INDEX = path.join(__dirname, '..', '..', 'js', 'dist', 'index.js');

  it('NODEREC_NO_CACHE=x is a bad value (ERR_INVALID_POLICY_VALUE naming it)', () => {
    const r = runNode(FIB, { env: { NODEREC_NO_CACHE: 'x' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('ERR_INVALID_POLICY_VALUE');
    expect(r.stderr).toContain('NODEREC_NO_CACHE=\\"x\\"');
  });

  it('NODEREC_NO_CACHE=false uses the cache, =1 does not', () => {
    const used = tempDir();
    expect(runNode(FIB, { env: { NODEREC_NO_CACHE: 'false', NODEREC_CACHE_DIR: used } }).code).toBe(0);
    expect(fs.readdirSync(used).length).toBeGreaterThan(0);
    const unused = tempDir();
    expect(runNode(FIB, { env: { NODEREC_NO_CACHE: '1', NODEREC_CACHE_DIR: unused } }).code).toBe(0);
    expect(fs.readdirSync(unused)).toEqual([]);
  });

  it('configurePolicy({ traceFilter }) is applied by start()', () => {
    const r = runNode(fixture('policy-api', 'main.js'), { preload: 'none', env: { NODEREC_INDEX: INDEX } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('2 4\n');
    const dir = onlyTrace(r.outDir);
    const calls = events(dir).filter((e) => e.kind === 'call').map((e) => e.fn);
    expect(calls).toContain('visible');
    expect(calls).not.toContain('hidden');
    expect(metadata(dir).filter.chain.map((c: { name: string }) => c.name)).toEqual(['noderec-default', 'skip-hidden']);
  });

  it('record --filter with a bad file is a usage error: exit 2, the file, line and column', () => {
    const bad = path.join(tempDir(), 'bad.toml');
    fs.writeFileSync(bad, '[meta]\nname = "x"\nversion = 0\n');
    const r = runCli(['record', '--filter', bad, '--', NODE, FIB]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('ERR_FILTER_SCHEMA');
    expect(r.stderr).toContain(`${bad}:3:11`);
    expect(traceDirs(r.outDir)).toEqual([]);
  });

  it('unknown options of ls, show, export and calls are usage errors (exit 2), not trace names', () => {
    for (const cmd of ['ls', 'show', 'export', 'calls']) {
      const r = runCli([cmd, '--bogus']);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toContain(`unknown option --bogus for 'noderec ${cmd}'`);
    }
    const two = runCli(['show', 'a', 'b']);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain("'noderec show' takes one trace");
  });
});
