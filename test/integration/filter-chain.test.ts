// Trace filters end to end: real node processes with the preload and filter
// chains; the trace is read back through the reader.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { assertBalanced, events, fixture, metadata, onlyTrace, runCli, runNode, tempDir, traceDirs } from '../helpers/run';

const APP = fixture('filter-app', 'main.js');
const F = (name: string): string => fixture('filter-app', 'filters', name);
const REDACTED_STRING = { $: 'redacted', type: 'string' };
const DROPPED = { $: 'redacted', type: '' };

function record(env: Record<string, string> = {}) {
  const r = runNode(APP, { env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('done\n');
  const dir = onlyTrace(r.outDir);
  const evs = events(dir);
  assertBalanced(evs);
  return { dir, evs, meta: metadata(dir) };
}

const calls = (evs: any[], fn: string) => evs.filter((e) => e.kind === 'call' && e.fn === fn);
const returns = (evs: any[], fn: string) => evs.filter((e) => e.kind === 'return' && e.fn === fn);

describe('the built-in default', () => {
  it('records everything and redacts secret-looking arguments, keys and header names', () => {
    const { evs, meta } = record();
    expect(calls(evs, 'login')[0].args).toEqual(['alice', REDACTED_STRING]);
    const cfg = calls(evs, 'withConfig')[0].args[0];
    expect(cfg.props.db.props.password).toEqual(REDACTED_STRING);
    expect(cfg.props.db.props.host).toBe('h');
    expect(cfg.props.token).toEqual(REDACTED_STRING);
    expect(cfg.props.name).toBe('x');
    expect(cfg.props.headers.entries).toEqual([
      ['authorization', REDACTED_STRING],
      ['accept', '*/*'],
    ]);
    // The package's functions are recorded by default.
    expect(calls(evs, 'each')).toHaveLength(1);
    expect(meta.filter.chain).toHaveLength(1);
    expect(meta.filter.chain[0]).toMatchObject({ name: 'noderec-default', version: 1 });
    expect(meta.filter.chain[0].path).toMatch(/filters[/\\]default\.toml$/);
    expect(meta.filter.chain[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    // getSecret()'s return: its name says it returns a secret.
    expect(returns(evs, 'getSecret')[0].value).toEqual(REDACTED_STRING);
    expect(meta.filter.stats.values_redacted).toEqual({ arg: 1, ret: 1, this: 0, attr: 3 });
    expect(meta.filter.stats.files_instrumented).toBe(2);
    expect(meta.filter.stats.files_skipped).toBe(0);
  });
});

describe('scope rules', () => {
  it('a skipped package leaves no events while its callbacks into user code are recorded; fn: skip', () => {
    const { evs, meta } = record({ NODEREC_TRACE_FILTER: F('skip.toml') });
    expect(evs.filter((e) => e.path.includes('fakepkg'))).toEqual([]);
    const cb = calls(evs, 'callback');
    expect(cb.map((c) => c.args)).toEqual([[1], [2]]);
    expect(returns(evs, 'callback').map((r) => r.value)).toEqual([2, 3]);
    expect(calls(evs, 'internalHelper')).toEqual([]);
    expect(calls(evs, 'main')).toHaveLength(1);
    expect(meta.filter.chain.map((c: any) => c.name)).toEqual(['noderec-default', 'skip']);
    expect(meta.filter.stats).toMatchObject({ files_instrumented: 1, files_skipped: 1, functions_skipped: 1 });
  });
});

describe('value rules', () => {
  it('redacts a return and a nested key, drops an argument, a return and this', () => {
    const { evs, meta } = record({ NODEREC_TRACE_FILTER: F('values.toml') });
    expect(returns(evs, 'getSecret')[0].value).toEqual(REDACTED_STRING);
    const cfg = calls(evs, 'withConfig')[0].args[0];
    expect(cfg.props.db.props.host).toEqual(REDACTED_STRING);
    expect(returns(evs, 'withConfig')[0].value).toBe('h');
    const drop = calls(evs, 'dropMe')[0];
    expect(drop.args).toEqual(['a', DROPPED]);
    const dropRet = returns(evs, 'dropMe');
    expect(dropRet).toHaveLength(1);
    expect('value' in dropRet[0]).toBe(false);
    const add = calls(evs, 'Cart.addItem')[0];
    expect('this' in add).toBe(false);
    expect(add.args).toEqual([{ $: 'object', class: 'Object', props: { sku: 1 } }, 2]);
    expect(meta.filter.stats.values_redacted).toMatchObject({ ret: 1 });
    expect(meta.filter.stats.values_redacted.attr).toBeGreaterThanOrEqual(4);
    expect(meta.filter.stats.values_dropped).toEqual({ arg: 1, ret: 1, this: 1, attr: 0 });
  });
});

describe('the chain', () => {
  it('NODEREC_TRACE_FILTER holds several files separated by ::, applied in order', () => {
    const { evs, meta } = record({ NODEREC_TRACE_FILTER: `${F('skip.toml')}::${F('env-redact.toml')}` });
    expect(meta.filter.chain.map((c: any) => c.name)).toEqual(['noderec-default', 'skip', 'env-redact']);
    expect(calls(evs, 'callback').map((c) => c.args)).toEqual([[{ $: 'redacted', type: 'number' }], [{ $: 'redacted', type: 'number' }]]);
    expect(returns(evs, 'callback')[0].value).toEqual({ $: 'redacted', type: 'number' });
  });

  it('noderec record --filter comes after NODEREC_TRACE_FILTER and wins', () => {
    const r = runCli(['record', '--filter', F('cli-allow.toml'), '--', process.execPath, APP], {
      env: { NODEREC_TRACE_FILTER: F('env-redact.toml') },
    });
    expect(r.code).toBe(0);
    const dir = onlyTrace(r.outDir);
    expect(metadata(dir).filter.chain.map((c: any) => c.name)).toEqual(['noderec-default', 'env-redact', 'cli-allow']);
    expect(calls(events(dir), 'callback').map((c) => c.args)).toEqual([[1], [2]]);
  });

  it('discovers the nearest .noderec/filter.toml walking up from the entry script', () => {
    const r = runNode(fixture('filter-discover', 'src', 'main.js'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('2\n');
    const dir = onlyTrace(r.outDir);
    const meta = metadata(dir);
    expect(meta.filter.chain.map((c: any) => c.name)).toEqual(['noderec-default', 'project']);
    expect(meta.filter.chain[1].path).toBe(fixture('filter-discover', '.noderec', 'filter.toml'));
    const evs = events(dir);
    expect(calls(evs, 'hidden')).toEqual([]);
    expect(calls(evs, 'shown')).toHaveLength(1);
  });

  it('changing a filter re-instruments (the chain hash is in the cache key)', () => {
    const cache = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'noderec-cache-'));
    const a = record({ NODEREC_CACHE_DIR: cache });
    expect(calls(a.evs, 'internalHelper')).toHaveLength(1);
    const b = record({ NODEREC_CACHE_DIR: cache, NODEREC_TRACE_FILTER: F('skip.toml') });
    expect(calls(b.evs, 'internalHelper')).toEqual([]);
    const c = record({ NODEREC_CACHE_DIR: cache });
    expect(calls(c.evs, 'internalHelper')).toHaveLength(1);
  });
});

describe('a bad filter', () => {
  it('abort: the program does not start; exit 1 with the code, file, line and column', () => {
    const r = runNode(APP, { env: { NODEREC_TRACE_FILTER: F('bad.toml'), NODEREC_ON_RECORDER_ERROR: 'abort' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('ERR_FILTER_SCHEMA');
    expect(r.stderr).toContain(`${F('bad.toml')}:7:1: unknown key \`scope.rules[0].exce\``);
    expect(r.stderr).toContain('accepted: selector, exec, value_default, reason, value_patterns');
    expect(traceDirs(r.outDir)).toEqual([]);
  });

  it('disable: the program runs unrecorded and the error is logged', () => {
    const r = runNode(APP, { env: { NODEREC_TRACE_FILTER: F('bad.toml'), NODEREC_ON_RECORDER_ERROR: 'disable' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).toContain('ERR_FILTER_SCHEMA');
    expect(r.stderr).toContain('bad.toml:7:1: unknown key');
    expect(traceDirs(r.outDir)).toEqual([]);
  });

  it('a missing file is ERR_FILTER_PARSE', () => {
    const r = runNode(APP, { env: { NODEREC_TRACE_FILTER: F('nope.toml') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_FILTER_PARSE');
    expect(r.stderr).toContain('nope.toml:1:1: cannot read the filter file');
  });
});

describe('loading large filters', () => {
  it('logs its progress at debug level: each file with its rule count and time', () => {
    const dir = tempDir();
    const file = path.join(dir, 'many.toml');
    const rules = Array.from({ length: 3000 }, (_, i) => `[[scope.rules]]\nselector = "fn:generated${i}"\nexec = "skip"\n`);
    fs.writeFileSync(file, `[meta]\nname = "many"\nversion = 1\n${rules.join('')}`);
    const log = path.join(dir, 'log.jsonl');
    const r = runNode(APP, { env: { NODEREC_TRACE_FILTER: file, NODEREC_LOG_LEVEL: 'debug', NODEREC_LOG_FILE: log } });
    expect(r.code).toBe(0);
    const lines = fs
      .readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.target === 'noderec_core::filter');
    const loaded = lines.find((l) => l.level === 'debug' && l.fields.path === file && l.fields.rules === 3000);
    expect(loaded, JSON.stringify(lines)).toBeDefined();
    expect(loaded.message).toContain('3000 rules');
    expect(typeof loaded.fields.ms).toBe('number');
  });
});

// review43: the event limit dropped the sink before detach reported the
// filter statistics, so a truncated trace said nothing was redacted.
describe('filter statistics of a trace cut by NODEREC_MAX_EVENTS', () => {
  it('count the redactions made up to the limit', () => {
    const r = runNode(fixture('limit-stats', 'main.js'), { env: { NODEREC_MAX_EVENTS: '1000', NODEREC_TRACE_FILTER: fixture('limit-stats', 'filter.toml') } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('12497500\n');
    const dir = onlyTrace(r.outDir);
    const meta = metadata(dir);
    expect(meta.truncated).toBe(true);
    const recorded = events(dir).filter((e) => e.kind === 'call' && e.fn === 'redRet').length;
    expect(recorded).toBeGreaterThan(0);
    expect(meta.filter.stats.values_redacted.arg).toBeGreaterThanOrEqual(recorded);
  });
});
