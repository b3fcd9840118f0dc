// IO capture end to end: real node processes with the preload, output read
// back through `noderec export --format jsonl`.
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { cleanEnv, Event, events, fixture, NODE, NODE22, onlyTrace, REGISTER, ROOT, runNode, tempDir } from '../helpers/run';

type Mode = 'proxies' | 'proxies+fd';
const MODES: Mode[] = ['proxies', 'proxies+fd'];

function outputs(evs: Event[], stream?: string): Event[] {
  return evs.filter((e) => e.kind === 'output' && (stream === undefined || e.stream === stream));
}

function bytesOf(e: Event): Buffer {
  return e.text !== undefined ? Buffer.from(e.text as string, 'utf8') : Buffer.from(e.base64 as string, 'base64');
}

function joined(evs: Event[], stream: string): Buffer {
  return Buffer.concat(outputs(evs, stream).map(bytesOf));
}

function plain(script: string, input?: string | Buffer): ReturnType<typeof spawnSync> {
  return spawnSync(process.execPath, [script], { env: cleanEnv(), cwd: path.dirname(script), input, maxBuffer: 256 << 20 });
}

/** Runs `script` with stdout and stderr both sent to one file; returns its bytes. */
function runMerged(script: string, env: Record<string, string> | null): { out: Buffer; outDir: string; code: number | null } {
  const outDir = tempDir();
  const file = path.join(outDir, 'merged.txt');
  const fd = fs.openSync(file, 'w');
  const args = env === null ? [script] : ['--require', REGISTER, script];
  const r = spawnSync(process.execPath, args, {
    env: cleanEnv({ NODEREC_OUT_DIR: outDir, ...(env ?? {}) }),
    cwd: path.dirname(script),
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  return { out: fs.readFileSync(file), outDir, code: r.status };
}

describe('proxies: output attached to the call that printed it', () => {
  it('console.log and partial writes inside nested calls', () => {
    const script = fixture('io-nested', 'main.js');
    const r = runNode(script);
    const p = plain(script);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(p.stdout.toString());
    expect(r.stderr).toBe(p.stderr.toString());
    const evs = events(onlyTrace(r.outDir));
    const out = outputs(evs);
    const by = (s: string): Event => out.find((e) => bytesOf(e).toString('latin1').includes(s))!;
    expect(by('top').fn).toBe('<module>');
    expect(by('inner 21').fn).toBe('inner');
    expect(by('inner 21').depth).toBe(2);
    expect(by('outer-start').fn).toBe('outer');
    expect(by('outer-start').flags).toEqual(['boundary']);
    expect(by('outer-end 42').fn).toBe('outer');
    expect(by('outer-end 42').flags).toEqual(['newline']);
    const err = by('to stderr');
    expect(err.stream).toBe('stderr');
    expect(err.fn).toBe('outer');
    // The activation of the call that printed, in event order.
    const innerCall = evs.find((e) => e.kind === 'call' && e.fn === 'inner')!;
    expect(by('inner 21').activation).toBe(innerCall.activation);
    const iOut = evs.indexOf(by('inner 21'));
    expect(evs.indexOf(innerCall)).toBeLessThan(iOut);
    expect(evs.findIndex((e) => e.kind === 'return' && e.fn === 'inner')).toBeGreaterThan(iOut);
    expect(joined(evs, 'stdout').equals(Buffer.from(r.stdout, 'latin1'))).toBe(false); // binary tail is not UTF-8 in r.stdout
    const tail = out[out.length - 1];
    expect(tail.base64).toBe('/wAK');
  });

  it('the chrome export shows output as instant events on the thread', () => {
    const r = runNode(fixture('io-nested', 'main.js'));
    const dir = onlyTrace(r.outDir);
    const outFile = path.join(r.outDir, 'chrome.json');
    const x = spawnSync(process.execPath, [path.join(ROOT, 'js', 'bin', 'noderec.js'), 'export', dir, '--format', 'chrome', '-o', outFile]);
    expect(x.status).toBe(0);
    const t = JSON.parse(fs.readFileSync(outFile, 'utf8')) as { traceEvents: Record<string, any>[] };
    const inst = t.traceEvents.filter((e) => e.ph === 'i' && e.cat === 'output');
    expect(inst.length).toBe(6);
    const inner = inst.find((e) => String(e.args.text).startsWith('inner'))!;
    expect(inner.name).toBe('stdout');
    expect(inner.args.fn).toBe('inner');
    expect(inner.tid).toBe(0);
    const slice = t.traceEvents.find((e) => e.ph === 'X' && String(e.name).startsWith('inner ('))!;
    expect(inner.ts).toBeGreaterThanOrEqual(slice.ts);
    expect(inner.ts).toBeLessThanOrEqual(slice.ts + slice.dur);
  });

  it('write keeps its return value, callback, isTTY and the 5 ms gap cuts a chunk', () => {
    const script = fixture('io-misc', 'main.js');
    const r = runNode(script);
    expect(r.stdout).toBe(plain(script).stdout.toString());
    expect(r.stdout).toContain('ret=true isTTY=undefined name= len=3');
    expect(r.stdout).toContain('callback ran');
    const evs = events(onlyTrace(r.outDir));
    const gap = outputs(evs).find((e) => e.text === 'gap-')!;
    expect(gap.flags).toEqual(['time_split']);
    expect(gap.fn).toBe('gap');
    expect(outputs(evs).find((e) => e.text === 'after\n')!.fn).toBe('gap');
    const idle = outputs(evs).find((e) => e.text === 'idle-')!;
    expect(idle.flags).toEqual(['time_split']);
    expect(idle.activation).toBe(0);
    expect(outputs(evs).find((e) => e.text === 'later\n')!.fn).toBe('later');
  });

  it('off installs nothing at all', () => {
    const r = runNode(fixture('io-misc', 'main.js'), { env: { NODEREC_CAPTURE_IO: 'off' } });
    expect(r.stderr).toBe('own=false proto=true\n');
    expect(outputs(events(onlyTrace(r.outDir)))).toHaveLength(0);
  });
});

describe('the idle cut is invisible to the program (issue 8)', () => {
  // Columns shift on instrumented lines (README, Known differences): compare file:line.
  const lines = (s: string): string => s.replace(/:(\d+):\d+(\)?)$/gm, ':$1$2');
  for (const [name, node, mode] of [['node 20', NODE, 'proxies'], ['node 20', NODE, 'proxies+fd'], ['node 22', NODE22, 'proxies']] as const) {
    it(`a timer due with the 5 ms cut keeps its promise reactions' stacks (${name}, ${mode})`, () => {
      const script = fixture('io-timer-stack', 'main.js');
      const p = spawnSync(node, [script], { env: cleanEnv(), cwd: path.dirname(script) });
      const r = runNode(script, { node, env: { NODEREC_CAPTURE_IO: mode } });
      expect(r.code).toBe(0);
      expect(lines(r.stdout)).toBe(lines(p.stdout.toString()));
      expect(r.stdout).not.toContain('listOnTimeout');
      // The partial line is still a chunk of its own, before what the reaction printed.
      const out = outputs(events(onlyTrace(r.outDir)), 'stdout');
      expect(out[0].text).toBe('partial ');
      expect(out[1].text).toMatch(/^reaction: Error: where\n/);
    });
  }
});

describe('binary data', () => {
  for (const mode of MODES) {
    it(`Buffer, Uint8Array and encoded string writes come back byte-exact (${mode})`, () => {
      const script = fixture('io-binary', 'main.js');
      const outDir = tempDir();
      const r = spawnSync(process.execPath, ['--require', REGISTER, script], {
        env: cleanEnv({ NODEREC_OUT_DIR: outDir, NODEREC_CAPTURE_IO: mode }),
        maxBuffer: 16 << 20,
      });
      const p = spawnSync(process.execPath, [script], { env: cleanEnv(), maxBuffer: 16 << 20 });
      expect(r.status).toBe(0);
      expect(r.stdout.equals(p.stdout)).toBe(true);
      const evs = events(onlyTrace(outDir));
      const got = joined(evs, 'stdout');
      expect(got.length).toBe(p.stdout.length);
      expect(got.equals(p.stdout)).toBe(true);
      // Not doubled by the mirror, and none of it is mirror-only.
      expect(outputs(evs).filter((e) => (e.flags as string[]).includes('mirror'))).toHaveLength(0);
    });
  }
});

describe('interleaved stdout and stderr', () => {
  for (const mode of MODES) {
    it(`keep their order, in the trace and at a shared destination (${mode})`, () => {
      const script = fixture('io-order', 'main.js');
      const base = runMerged(script, null);
      const rec = runMerged(script, { NODEREC_CAPTURE_IO: mode });
      expect(rec.code).toBe(0);
      expect(rec.out.toString()).toBe(base.out.toString());
      const evs = events(onlyTrace(rec.outDir));
      const text = outputs(evs)
        .map((e) => bytesOf(e).toString())
        .join('');
      expect(text).toBe(base.out.toString());
      const seq = outputs(evs).slice(0, 100).map((e) => `${e.stream}:${e.fn}`);
      for (let i = 0; i < 50; i++) {
        expect(seq[2 * i]).toBe('stdout:out');
        expect(seq[2 * i + 1]).toBe('stderr:err');
      }
    });
  }
});

describe('fd mirror (proxies+fd)', () => {
  for (const dest of ['pipe', 'file'] as const) {
    it(`captures fs.writeSync(1, ...) once, as mirror, and changes nothing downstream (${dest})`, () => {
      const script = fixture('io-fd', 'main.js');
      let stdout: string;
      let outDir: string;
      if (dest === 'pipe') {
        const r = runNode(script, { env: { NODEREC_CAPTURE_IO: 'proxies+fd' } });
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(plain(script).stdout.toString());
        expect(r.stderr).toBe(plain(script).stderr.toString());
        stdout = r.stdout;
        outDir = r.outDir;
      } else {
        const rec = runMerged(script, { NODEREC_CAPTURE_IO: 'proxies+fd' });
        expect(rec.out.toString()).toBe(runMerged(script, null).out.toString());
        stdout = rec.out.toString();
        outDir = rec.outDir;
      }
      const evs = events(onlyTrace(outDir));
      const out = outputs(evs);
      const mirrored = out.filter((e) => (e.flags as string[]).includes('mirror'));
      expect(mirrored.map((e) => e.text).sort()).toEqual(['fd line 0\n', 'fd line 1\n', 'fd line 2\n', 'fd stderr\n']);
      for (const e of mirrored) expect(e.flags).toEqual(['newline', 'mirror']);
      for (let i = 0; i < 3; i++) {
        expect(out.filter((e) => e.text === `fd line ${i}\n`)).toHaveLength(1);
        expect(out.filter((e) => e.text === `stream line ${i}\n`)).toHaveLength(1);
      }
      expect(out.filter((e) => e.text === 'stream stderr\n')).toHaveLength(1);
      expect(stdout).toContain('fd line 2\n');
    });
  }

  it('proxies alone do not see fs.writeSync(1, ...)', () => {
    const r = runNode(fixture('io-fd', 'main.js'));
    const out = outputs(events(onlyTrace(r.outDir)));
    expect(out.filter((e) => String(e.text).startsWith('fd '))).toHaveLength(0);
    expect(out.filter((e) => String(e.text).startsWith('stream line'))).toHaveLength(3);
  });
});

describe('stdin', () => {
  it('piped stdin is recorded as input', () => {
    const input = Array.from({ length: 1000 }, (_, i) => `input line ${i}\n`).join('');
    const r = runNode(fixture('io-stdin', 'main.js'), { input });
    expect(r.stdout).toBe(`read ${input.length} bytes 1000 lines\n`);
    const evs = events(onlyTrace(r.outDir));
    expect(joined(evs, 'stdin').toString()).toBe(input);
    for (const e of outputs(evs, 'stdin')) expect(e.flags).toContain('input');
    const report = outputs(evs, 'stdout')[0];
    expect(report.fn).toBe('onEnd');
  });
});

describe('100 MB through a recorded program', () => {
  for (const mode of MODES) {
    it(`arrives intact with bounded recorder memory (${mode})`, async () => {
      const script = fixture('io-pipe', 'main.js');
      const outDir = tempDir();
      const child = spawn(process.execPath, ['--require', REGISTER, script], {
        env: cleanEnv({ NODEREC_OUT_DIR: outDir, NODEREC_CAPTURE_IO: mode }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const total = 100 << 20;
      const want = crypto.createHash('sha256');
      const got = crypto.createHash('sha256');
      let gotBytes = 0;
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        got.update(c);
        gotBytes += c.length;
      });
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const done = new Promise<number | null>((res) => child.on('close', res));
      let sent = 0;
      let n = 0;
      while (sent < total) {
        // Compressible but never repeating: a counter in every line.
        const lines: string[] = [];
        for (let k = 0; k < 1000; k++) lines.push(`${n++} ${'abcdefghij'.repeat(6)}\n`);
        const chunk = Buffer.from(lines.join('')).subarray(0, Math.min(total - sent, 1 << 20));
        want.update(chunk);
        sent += chunk.length;
        if (!child.stdin.write(chunk)) await new Promise((r) => child.stdin.once('drain', r));
      }
      child.stdin.end();
      const code = await done;
      expect(code).toBe(0);
      expect(gotBytes).toBe(total);
      expect(got.digest('hex')).toBe(want.digest('hex'));
      const maxRSS = (JSON.parse(stderr.trim().split('\n').pop()!) as { maxRSS: number }).maxRSS * 1024;
      expect(maxRSS).toBeLessThan(300 << 20);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const native = require(path.join(ROOT, 'js', 'dist', 'native.js')).native();
      const sum = native.traceSummary(onlyTrace(outDir));
      expect(sum.outputBytes.stdin).toBe(total);
      expect(sum.outputBytes.stdout).toBe(total);
      expect(sum.metadata.status).toBe('complete');
    }, 180_000);
  }
});

/** Runs io-epipe with a reader that goes away after the first chunk. */
function epipe(recorded: Mode | null, handle: boolean): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const outDir = tempDir();
  const args = recorded === null ? [] : ['--require', REGISTER];
  const child = spawn(process.execPath, [...args, fixture('io-epipe', 'main.js')], {
    env: cleanEnv({ NODEREC_OUT_DIR: outDir, HANDLE: handle ? '1' : '0', ...(recorded ? { NODEREC_CAPTURE_IO: recorded } : {}) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  return new Promise((res) => child.on('close', (code, signal) => res({ code, signal, stderr })));
}

describe('EPIPE', () => {
  for (const mode of [null, ...MODES] as const) {
    it(`a closed pipe behaves as without the recorder (${mode ?? 'no recorder'})`, async () => {
      const h = await epipe(mode, true);
      expect(h.code).toBe(3);
      expect(h.stderr).toBe('stdout error EPIPE\n');
      const u = await epipe(mode, false);
      const base = await epipe(null, false);
      expect(u.code).toBe(base.code);
      expect(u.signal).toBe(base.signal);
      expect(u.stderr.split('\n').find((l) => l.includes('Error'))).toBe(base.stderr.split('\n').find((l) => l.includes('Error')));
    }, 60_000);
  }
});

describe('workers', () => {
  for (const mode of MODES) {
    it(`a worker's output is attributed to the worker, once (${mode})`, () => {
      const script = fixture('io-worker', 'main.js');
      const r = runNode(script, { env: { NODEREC_CAPTURE_IO: mode } });
      expect(r.code).toBe(0);
      const p = plain(script);
      expect(r.stdout).toBe(p.stdout.toString());
      expect(r.stderr).toBe(p.stderr.toString());
      const evs = events(onlyTrace(r.outDir));
      const w = outputs(evs).filter((e) => e.text === 'worker says 7\n');
      expect(w).toHaveLength(1);
      expect(w[0].thread).toBeGreaterThan(0);
      expect(w[0].fn).toBe('workerSays');
      const we = outputs(evs).filter((e) => e.text === 'worker err 7\n');
      expect(we).toHaveLength(1);
      expect(we[0].stream).toBe('stderr');
      expect(we[0].thread).toBe(w[0].thread);
      const m = outputs(evs).filter((e) => e.text === 'main says hi\n');
      expect(m).toHaveLength(1);
      expect(m[0].thread).toBe(0);
      expect(m[0].fn).toBe('mainSays');
      expect(outputs(evs).find((e) => e.text === 'main done\n')!.fn).toBe('done');
    });
  }

  it('each thread has its own 5 ms idle cut; workers that exit with it armed do not stop the main thread\'s', () => {
    const script = fixture('io-worker-idle', 'main.js');
    const r = runNode(script);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = outputs(events(onlyTrace(r.outDir)), 'stdout');
    for (const i of [0, 2]) {
      const idle = out.filter((e) => e.text === `idle-${i}-`);
      expect(idle).toHaveLength(1);
      expect(idle[0].flags).toEqual(['time_split']);
      expect(idle[0].thread).toBeGreaterThan(0);
    }
    for (const i of [1, 3]) expect(out.filter((e) => e.text === `armed-${i}-`)).toHaveLength(1);
    const main = out.filter((e) => e.text === 'main-idle-');
    expect(main).toHaveLength(1);
    expect(main[0].flags).toEqual(['time_split']);
    expect(main[0].thread).toBe(0);
  });
});
