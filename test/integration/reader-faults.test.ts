// The readers (`noderec export`, `calls`, `show`, `ls`) on traces that are
// cut, damaged, not regular files, or hold what this reader does not know:
// they say so truthfully, never hang, and never pass garbage on.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { CLI, cleanEnv, NODE, tempDir } from '../helpers/run';
import { chunk, record, sampleChunk, traceBytes, writeTraceDir } from '../helpers/trace-file';

function cli(args: string[], outDir: string, timeout = 20_000): { code: number | null; stdout: string; stderr: string; signal: string | null } {
  const r = spawnSync(NODE, [CLI, ...args], { env: cleanEnv({ NODEREC_OUT_DIR: outDir }), timeout, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '', signal: r.signal };
}

function lines(s: string): Record<string, unknown>[] {
  return s
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('a crafted trace', () => {
  it('reads back (the test helper writes the format right)', () => {
    const out = tempDir();
    const dir = writeTraceDir(out, 'ok', traceBytes([sampleChunk(), chunk(record.end(4))]));
    const r = cli(['export', dir], out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const evs = lines(r.stdout);
    expect(evs.map((e) => e.kind)).toEqual(['call', 'return', 'call', 'return']);
    expect(evs[0]).toMatchObject({ fn: 'f', path: 'app.js', args: [1] });
  });
});

describe('damaged traces are not read silently', () => {
  const out = tempDir();
  const good = traceBytes([sampleChunk(), sampleChunk(), chunk(record.end(8))]);
  // Cut inside the second chunk.
  const cutAt = good.length - 40;
  const cut = writeTraceDir(out, 'cut', good.subarray(0, cutAt));
  const firstEnd = traceBytes([sampleChunk()]).length;

  it('export: the readable prefix, a warning naming the position, exit code 1', () => {
    const r = cli(['export', cut], out);
    expect(lines(r.stdout)).toHaveLength(4);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_TRACE_INCOMPLETE');
    expect(r.stderr).toContain(`at byte ${firstEnd}`);
    expect(r.stderr).toContain('--allow-partial');
  });

  it('export --allow-partial: the same prefix and warning, exit code 0', () => {
    const r = cli(['export', cut, '--allow-partial'], out);
    expect(lines(r.stdout)).toHaveLength(4);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`at byte ${firstEnd}`);
  });

  it('export --format chrome -o file: warns and exits 1 too', () => {
    const file = path.join(out, 'chrome.json');
    const r = cli(['export', cut, '--format', 'chrome', '-o', file], out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`at byte ${firstEnd}`);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).traceEvents.length).toBeGreaterThan(0);
  });

  it('calls: warns and exits 1, or 0 with --allow-partial', () => {
    let r = cli(['calls', cut, '--json'], out);
    expect(lines(r.stdout)).toHaveLength(2);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`at byte ${firstEnd}`);
    r = cli(['calls', cut, '--allow-partial'], out);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`at byte ${firstEnd}`);
  });

  it('a checksum mismatch is damage too', () => {
    const bad = Buffer.from(good);
    bad[firstEnd + 20] ^= 0xff;
    const dir = writeTraceDir(out, 'crc', bad);
    const r = cli(['export', dir], out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`checksum mismatch in chunk at byte ${firstEnd}`);
    expect(lines(r.stdout)).toHaveLength(4);
  });

  it('an intact trace without its end record (a killed process) exports without a word', () => {
    const dir = writeTraceDir(out, 'killed', traceBytes([sampleChunk()]), { status: 'recording' });
    const r = cli(['export', dir], out);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe('a process killed while the writer wrote a chunk', () => {
  // SIGKILL can land inside the writer's write of a chunk: the trace's last
  // chunk is cut and metadata.json still says `recording` with a pid that no
  // longer runs. That cut is the kill, not damage: the events before it are
  // the whole readable trace and the commands succeed, with a note.
  const out = tempDir();
  const deadPid = spawnSync(NODE, ['-e', '0']).pid as number;
  const good = traceBytes([sampleChunk(), sampleChunk()]);
  const firstEnd = traceBytes([sampleChunk()]).length;
  const killed = writeTraceDir(out, 'killed-cut', good.subarray(0, good.length - 40), { status: 'recording', pid: deadPid });

  it('export: the events before the cut, a note naming the position, exit code 0', () => {
    const r = cli(['export', killed], out);
    expect(lines(r.stdout)).toHaveLength(4);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`at byte ${firstEnd}`);
    expect(r.stderr).toContain('killed');
    expect(r.stderr).not.toContain('ERR_TRACE_INCOMPLETE');
  });

  it('calls: the same', () => {
    const r = cli(['calls', killed, '--json'], out);
    expect(lines(r.stdout)).toHaveLength(2);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`at byte ${firstEnd}`);
  });

  it('a checksum mismatch in a killed trace is still damage', () => {
    const bad = Buffer.from(good);
    bad[firstEnd + 20] ^= 0xff;
    const dir = writeTraceDir(out, 'killed-crc', bad, { status: 'recording', pid: deadPid });
    const r = cli(['export', dir], out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_TRACE_INCOMPLETE');
  });

  it('a cut trace whose process finished (status complete) is still damage', () => {
    const dir = writeTraceDir(out, 'complete-cut', good.subarray(0, good.length - 40), { status: 'complete' });
    const r = cli(['export', dir], out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_TRACE_INCOMPLETE');
  });
});

describe('unknown event kinds stop the reader like damage', () => {
  const out = tempDir();
  const unknown = chunk([
    ...record.events(0, 20, [
      [1, 1, [2, 4, 2]],
      [10, 0],
      [2, 0, [4, 4]],
    ]),
  ]);
  const dir = writeTraceDir(out, 'unknown', traceBytes([sampleChunk(), unknown, chunk(record.end(7))]));

  it('export never prints kind "unknown"; it stops before the chunk and says so', () => {
    const r = cli(['export', dir], out);
    expect(r.stdout).not.toContain('"unknown"');
    expect(lines(r.stdout)).toHaveLength(4);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown event kind');
    expect(r.stderr).toContain(`at byte ${traceBytes([sampleChunk()]).length}`);
  });

  it('show says where reading stopped', () => {
    const r = cli(['show', dir], out);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('reader stopped');
    expect(r.stdout).toContain('unknown event kind');
    expect(r.stdout).not.toContain('unknown 1');
  });
});

describe('special files', () => {
  const out = tempDir();

  it('a FIFO as trace.nrt is refused at once (it would block forever)', () => {
    const dir = path.join(out, 'fifo');
    fs.mkdirSync(dir);
    writeTraceDir(out, 'fifo', Buffer.alloc(0));
    fs.rmSync(path.join(dir, 'trace.nrt'));
    expect(spawnSync('mkfifo', [path.join(dir, 'trace.nrt')]).status).toBe(0);
    for (const cmd of [['export', dir], ['calls', dir], ['show', dir]]) {
      const r = cli(cmd, out, 10_000);
      expect(r.signal, `${cmd[0]} hung`).toBeNull();
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('ERR_NOT_REGULAR_FILE');
      expect(r.stderr).toContain('FIFO');
    }
  });

  it('/dev/zero and /dev/urandom as trace.nrt are refused (memory would grow without bound)', () => {
    for (const dev of ['/dev/zero', '/dev/urandom']) {
      const dir = writeTraceDir(out, path.basename(dev), Buffer.alloc(0));
      fs.rmSync(path.join(dir, 'trace.nrt'));
      fs.symlinkSync(dev, path.join(dir, 'trace.nrt'));
      const r = cli(['export', dir], out, 10_000);
      expect(r.signal, `${dev} hung`).toBeNull();
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('ERR_NOT_REGULAR_FILE');
      expect(r.stderr).toContain('character device');
    }
  });

  it('a FIFO as metadata.json does not hang ls or show', () => {
    const o2 = tempDir();
    const dir = writeTraceDir(o2, 'meta-fifo', traceBytes([sampleChunk()]));
    writeTraceDir(o2, 'fine', traceBytes([sampleChunk()]), { program: 'fine.js' });
    fs.rmSync(path.join(dir, 'metadata.json'));
    expect(spawnSync('mkfifo', [path.join(dir, 'metadata.json')]).status).toBe(0);
    const ls = cli(['ls', o2], o2, 10_000);
    expect(ls.signal, 'ls hung').toBeNull();
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain('fine.js');
    const show = cli(['show', dir], o2, 10_000);
    expect(show.signal, 'show hung').toBeNull();
    expect(show.code).toBe(1);
    expect(show.stderr).toContain('ERR_NOT_REGULAR_FILE');
  });

  it('a big trace is read in bounded memory (chunk by chunk, not the whole file)', () => {
    // 64 MiB of padding after the header chunk: a reader that loads the
    // file first needs it all in memory; a streaming one stops at the
    // padding (a cut chunk) after reading 12 bytes of it.
    const dir = writeTraceDir(out, 'big', traceBytes([sampleChunk()]));
    const fd = fs.openSync(path.join(dir, 'trace.nrt'), 'a');
    const pad = Buffer.alloc(1 << 20, 0xff);
    for (let i = 0; i < 64; i++) fs.writeSync(fd, pad);
    fs.closeSync(fd);
    const r = spawnSync('/usr/bin/time', ['-f', '%M', NODE, CLI, 'export', dir, '--allow-partial'], { env: cleanEnv({ NODEREC_OUT_DIR: out }) });
    expect(r.status).toBe(0);
    const maxRssKb = Number(r.stderr.toString().trim().split('\n').pop());
    // node itself is ~45-60 MiB; 64 MiB more would be the file.
    expect(maxRssKb).toBeLessThan(100 * 1024);
  });
});
