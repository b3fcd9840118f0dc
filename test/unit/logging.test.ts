// The recorder's log format and level filter, the JSON trailer and the
// metrics snapshot (the addon is loaded from js/dist, as users load it).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { configureLogger, flushWaiting, format, log, setLogContext, setStderrWriter, setTap, writeStderr } from '../../js/logging/logger';
import { emitTrailer, trailer } from '../../js/logging/trailer';

afterEach(() => {
  setTap(null);
  setStderrWriter(null);
  configureLogger({ level: 'warn', file: null });
});

describe('log lines', () => {
  it('have the fields {ts, level, target, run_id, trace_id, code?, message, fields} in that order', () => {
    setLogContext({ runId: 'r1', traceId: 't1' });
    const withCode = JSON.parse(format('error', 'noderec::x', 'boom', { a: 1 }, 'ERR_IO', 0));
    expect(Object.keys(withCode)).toEqual(['ts', 'level', 'target', 'run_id', 'trace_id', 'code', 'message', 'fields']);
    expect(withCode).toEqual({ ts: '1970-01-01T00:00:00.000Z', level: 'error', target: 'noderec::x', run_id: 'r1', trace_id: 't1', code: 'ERR_IO', message: 'boom', fields: { a: 1 } });
    const noCode = JSON.parse(format('info', 't', 'm'));
    expect('code' in noCode).toBe(false);
    expect(noCode.fields).toEqual({});
    expect(Number.isNaN(Date.parse(noCode.ts))).toBe(false);
  });

  it('are filtered by level (default warn)', () => {
    const lines: string[] = [];
    setTap((l) => lines.push(l));
    setStderrWriter(() => {});
    for (const [level, expected] of [
      ['error', ['error']],
      ['warn', ['error', 'warn']],
      ['info', ['error', 'warn', 'info']],
      ['debug', ['error', 'warn', 'info', 'debug']],
      ['trace', ['error', 'warn', 'info', 'debug', 'trace']],
    ] as const) {
      lines.length = 0;
      configureLogger({ level });
      for (const l of ['error', 'warn', 'info', 'debug', 'trace'] as const) log(l, 't', l);
      expect(lines.map((x) => JSON.parse(x).level)).toEqual(expected);
    }
  });

  it('go to NODEREC_LOG_FILE when set, not to stderr', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-log-')), 'log.jsonl');
    const stderr: string[] = [];
    setStderrWriter((d) => stderr.push(d));
    configureLogger({ level: 'info', file });
    log('info', 't', 'one');
    log('warn', 't', 'two', {}, 'ERR_X');
    configureLogger({ file: null });
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.message)).toEqual(['one', 'two']);
    expect(stderr).toEqual([]);
  });

  it('wait while the program has an open stderr line, then follow a newline at the end', () => {
    const out: string[] = [];
    setStderrWriter((d) => out.push(d));
    writeStderr('a\n');
    expect(out).toEqual(['a\n']);
    flushWaiting();
    expect(out).toEqual(['a\n']);
  });
});

describe('the JSON trailer', () => {
  it('has exactly {run_id, trace_id, error_code, error_kind, message, context}', () => {
    const t = trailer('ERR_IO', 'write', 'disk full', { pid: 1 }, { runId: 'r', traceId: 't' });
    expect(Object.keys(t)).toEqual(['run_id', 'trace_id', 'error_code', 'error_kind', 'message', 'context']);
    expect(t).toEqual({ run_id: 'r', trace_id: 't', error_code: 'ERR_IO', error_kind: 'write', message: 'disk full', context: { pid: 1 } });
  });

  it('is written once, to the run error file under noderec record', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-run-')), 'errors.jsonl');
    const t = trailer('ERR_IO', 'write', 'x', {}, { runId: 'r', traceId: 't' });
    expect(emitTrailer(t, true, { NODEREC_RUN_ERRORS: file })).toBe(true);
    expect(emitTrailer(t, true, { NODEREC_RUN_ERRORS: file })).toBe(false);
    expect(fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual([t]);
  });
});

describe('metrics', () => {
  it('a snapshot has every counter, and onMetrics calls back until stopped', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require('../../js/dist/logging/metrics.js') as typeof import('../../js/logging/metrics');
    const s = m.metricsSnapshot();
    expect(Object.keys(s).sort()).toEqual(
      ['bytesRaw', 'bytesWritten', 'buffersFlushed', 'channelWaits', 'chunks', 'clockStepUs', 'detaches', 'eventsDropped', 'eventsRecorded', 'failures', 'flushLatencyUs', 'logsDropped', 'panics', 'valueWork', 'writerBusyMs'].sort(),
    );
    expect(Object.keys(s.eventsDropped).sort()).toEqual(['inactive', 'max_events', 'recorder_error', 'reentrant', 'stopped']);
    expect(Object.keys(s.flushLatencyUs).sort()).toEqual(['count', 'p50', 'p99']);
    // Waits for the third call rather than for a fixed time: on a loaded
    // machine an 80 ms wait could see one call of a 10 ms interval.
    let calls = 0;
    let third: () => void = () => {};
    const thrice = new Promise<void>((r) => (third = r));
    const stop = m.onMetrics(() => {
      calls++;
      if (calls === 3) third();
    }, 10);
    await thrice;
    stop();
    const seen = calls;
    expect(seen).toBe(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(seen);
  });
});
