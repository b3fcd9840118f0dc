// Per-component settings (issue 13, design-docs/runs.md *Components*): a
// worker given `workerData.__noderec__` settings and child processes named
// by NODEREC_COMPONENT, with settings from noderec.configure() in the
// parent. Recorded through NODE_OPTIONS so children are recorded too.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { cleanEnv, Event, eventsAsync, fixture, NODE, ROOT, runCli, runNodeAsync, spawnAsync, tempDir, traceDirs } from '../helpers/run';

const API = path.join(ROOT, 'js', 'dist', 'index.js');
const nr = (e: Event): Record<string, any> => e.__noderec__ as Record<string, any>;

describe('per-component settings', () => {
  it('workers and child processes get their own settings (enabled, maxEvents, outDir, persist); their runs link the parent run', async () => {
    const script = fixture('runs', 'components.js');
    const childOut = tempDir();
    const env = { NODEREC_API: API, CHILD_OUT: childOut };
    const r = await runNodeAsync(script, { env, node: NODE, preload: 'node-options' });
    const plain = await spawnAsync(NODE, [script], { env: cleanEnv({ ...env, CHILD_OUT: tempDir() }), cwd: path.dirname(script) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(plain.stdout);
    expect(r.stdout).toContain("ERR_NODEREC_COMPONENT_SETTINGS noderec.configure('bad', settings): unknown setting 'maxEvent' (known: enabled, maxEvents, persist, outDir, parentRunId)");
    expect(r.stdout).toContain("ERR_NODEREC_COMPONENT_SETTINGS noderec.configure('bad', settings): enabled must be a boolean, got string");

    // The parent's own trace: only the parent (the children wrote elsewhere or nothing).
    const mine = traceDirs(r.outDir);
    expect(mine).toHaveLength(1);
    const evs = await eventsAsync(mine[0]);
    const work = (tag: string): Event[] => evs.filter((e) => e.kind === 'call' && e.fn === 'workerWork' && (e.args as unknown[])[0] === tag);
    // enabled: false — the worker recorded nothing.
    expect(work('quiet')).toHaveLength(0);
    expect(evs.some((e) => e.kind === 'call' && e.fn === 'workerWork')).toBe(true);
    // The component's run: parent run id / component id, linked to the parent run.
    const resizer = work('resizer');
    expect(resizer).toHaveLength(3);
    expect(resizer.every((e) => e.run === 'job-1/resizer')).toBe(true);
    const start = evs.find((e) => e.kind === 'run' && e.runId === 'job-1/resizer' && nr(e).phase === 'start')!;
    expect([start.parentRunId, start.component]).toEqual(['job-1', 'resizer']);
    // noderec export --run job-1 follows the parent run id to the worker's run.
    const ex = runCli(['export', mine[0], '--run', 'job-1']);
    expect(ex.stderr).toBe('');
    const sel = ex.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Event);
    expect(sel.filter((e) => e.kind === 'call' && e.fn === 'workerWork').map((e) => e.run)).toEqual(['job-1/resizer', 'job-1/resizer', 'job-1/resizer']);
    expect(sel.some((e) => e.kind === 'call' && e.fn === 'parentWork')).toBe(true);
    // A component without a parent run: its run is its id.
    const limited = work('limited');
    expect(limited.length).toBeGreaterThan(0);
    // maxEvents 40 for that thread only: the others recorded in full.
    expect(limited.length).toBeLessThan(40);
    expect(limited.every((e) => e.run === 'limited')).toBe(true);

    // Children: 'thumbs' into CHILD_OUT, its trace named after parent run and component; 'off' and 'ephemeral' left nothing.
    const kids = traceDirs(childOut);
    expect(kids.map((d) => path.basename(d).replace(/-\d{8}T\d{6}.*$/, ''))).toEqual(['job-1.thumbs']);
    const kid = await eventsAsync(kids[0]);
    const cw = kid.filter((e) => e.kind === 'call' && e.fn === 'childWork');
    expect(cw.map((e) => [(e.args as unknown[])[0], e.run])).toEqual([['thumbs', 'job-1/thumbs']]);
    expect(fs.readdirSync(childOut).filter((n) => !n.startsWith('.'))).toHaveLength(1);
  }, 120_000);
});
