// Filters by sample and iteration (issue 13), the whole-trace jsonl export
// (the addon's exportTrace) with runs, spans and logs, and the
// compatibility setting that copies a run/span/log line's time to the top
// level (NODEREC_JSONL_TOP_TIME).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { cleanEnv, Event, events, fixture, NODE, onlyTrace, ROOT, runCli, runNodeAsync, spawnAsync, tempDir } from '../helpers/run';

const API = path.join(ROOT, 'js', 'dist', 'index.js');
const nr = (e: Event): Record<string, any> => e.__noderec__ as Record<string, any>;
const lines = (s: string): Event[] => s.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Event);

let dir: string;
beforeAll(async () => {
  const r = await runNodeAsync(fixture('runs', 'samples.js'), { env: { NODEREC_API: API } });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  dir = onlyTrace(r.outDir);
}, 60_000);

const workOf = (evs: Event[]): string[] => evs.filter((e) => e.kind === 'call' && e.fn === 'work').map((e) => (e.args as number[]).join(':')).sort();

describe('filters by sample and iteration', () => {
  it('noderec export --sample / --iteration keep the events of the selected runs and of runs nested in them', () => {
    const s3 = runCli(['export', dir, '--sample', '3']);
    expect(s3.stderr).toBe('');
    expect(workOf(lines(s3.stdout))).toEqual(['3:0', '3:1', '3:2']);
    // Nested runs inherit the sample and iteration.
    expect(lines(s3.stdout).filter((e) => e.kind === 'call' && e.fn === 'nested').map((e) => e.run).sort()).toEqual(['s3-i0-inner', 's3-i1-inner', 's3-i2-inner']);
    const one = lines(runCli(['export', dir, '--sample', '3', '--iteration', '1']).stdout);
    expect(workOf(one)).toEqual(['3:1']);
    expect(workOf(lines(runCli(['export', dir, '--iteration', '2', '--domain', 'batch']).stdout))).toEqual(['0:2', '1:2', '2:2', '3:2', '4:2']);
    const none = runCli(['export', dir, '--sample', '3', '--iteration', '7']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("ERR_RUN_MISSING: no run of sample '3' of iteration '7'");
    expect(runCli(['export', dir, '--sample', '']).code).toBe(2);
  });

  it('noderec calls --sample / --iteration and the query API calls({ sample, iteration })', async () => {
    const c = runCli(['calls', dir, '--fn', 'work', '--sample', '4', '--iteration', '0', '--json']);
    expect(c.stderr).toBe('');
    expect(lines(c.stdout).map((x) => [(x.args as number[]).join(':'), x.run])).toEqual([['4:0', 's4-i0']]);
    const q = await spawnAsync(NODE, ['-e', `const n = require(${JSON.stringify(API)}); process.stdout.write(JSON.stringify(n.calls(${JSON.stringify(dir)}, { fn: 'work', sample: 2, iteration: 1 })))`], { env: cleanEnv({}) });
    expect(q.stderr).toBe('');
    expect((JSON.parse(q.stdout) as { run: string }[]).map((x) => x.run)).toEqual(['s2-i1']);
  });
});

describe('jsonl', () => {
  it("the whole-trace export (the addon's exportTrace) writes runs, spans, logs and each event's run, as the streaming export", async () => {
    const whole = path.join(tempDir(), 'whole.jsonl');
    const r = await spawnAsync(NODE, ['-e', `require(${JSON.stringify(path.join(ROOT, 'js', 'dist', 'native.js'))}).native().exportTrace(${JSON.stringify(dir)}, 'jsonl', ${JSON.stringify(whole)})`], { env: cleanEnv({}) });
    expect(r.stderr).toBe('');
    const streamed = runCli(['export', dir, '--format', 'jsonl']).stdout;
    expect(fs.readFileSync(whole, 'utf8')).toBe(streamed);
    expect(lines(streamed).filter((e) => e.kind === 'run')).toHaveLength(60);
  });

  it('NODEREC_JSONL_TOP_TIME=1 copies the time of run, span and log lines to a top-level `t`; a user attribute `t` becomes `attr:t`', () => {
    const plain = events(dir);
    const withT = lines(runCli(['export', dir, '--format', 'jsonl'], { env: { NODEREC_JSONL_TOP_TIME: '1' } }).stdout);
    expect(withT).toHaveLength(plain.length);
    const marks = withT.filter((e) => e.kind === 'run' || e.kind === 'span' || e.kind === 'log');
    expect(marks.length).toBe(60 + 2 + 1);
    for (const e of marks) expect(e.t).toBe(nr(e).t);
    const span = withT.find((e) => e.kind === 'span' && nr(e).phase === 'start')!;
    expect(span['attr:t']).toBe('user');
    // Without the setting, the user's `t` stays where it was and no time is at the top level.
    const before = plain.find((e) => e.kind === 'span' && nr(e).phase === 'start')!;
    expect(before.t).toBe('user');
    expect(plain.filter((e) => e.kind === 'log')[0].t).toBeUndefined();
    // The flag of noderec export says the same.
    const flag = lines(runCli(['export', dir, '--jsonl-top-time']).stdout);
    expect(flag.find((e) => e.kind === 'log')!.t).toBe(nr(flag.find((e) => e.kind === 'log')!).t);
  });
});
