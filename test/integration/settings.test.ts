// Every process names its run the same way: `noderec record`'s run
// directories and a process recorded by the bare preload (js/run-id.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { fixture, metadata, onlyTrace, runCli, runNode, tempDir, traceDirs, NODE } from '../helpers/run';

/** UTC start time to the second, then three random bytes. */
const RUN_ID = /^\d{8}T\d{6}-[0-9a-f]{6}$/;

describe('one run-id format', () => {
  it('a process recorded by the bare preload and a noderec record run use the same format', () => {
    const bare = runNode(fixture('fib', 'main.js'));
    expect(bare.code).toBe(0);
    expect(metadata(onlyTrace(bare.outDir)).run_id).toMatch(RUN_ID);

    const outDir = tempDir();
    const r = runCli(['record', '--', NODE, fixture('fib', 'main.js')], { env: { NODEREC_OUT_DIR: outDir } });
    expect(r.code).toBe(0);
    const [run] = fs.readdirSync(outDir);
    expect(run).toMatch(RUN_ID);
    expect(metadata(traceDirs(path.join(outDir, run))[0]).run_id).toBe(run);
  });
});
