// Exports (issue 14): each format is read back by an independent reader —
// speedscope's own importer (vendored), protobufjs with Perfetto's and
// OTLP's published protos — and checked event by event against the JSON
// lines export of the same trace.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { native } = require('../../js/dist/native') as typeof import('../../js/native');
import { codetracerBin, progressLine } from '../../js/cli/export';
import { CLI, Event, events, fixture, NODE, onlyTrace, runCli, runNode, tempDir } from '../helpers/run';
import { spawn, spawnSync } from 'node:child_process';
import * as http from 'node:http';
import * as protobuf from 'protobufjs';
import { importTraceEvents } from '../vendor/speedscope/import/trace-event';
import { importSpeedscopeProfiles } from '../vendor/speedscope/lib/file-format';

let dir: string;
let evs: Event[];
let work: string;

function exportTo(format: string, extra: string[] = []): string {
  const out = path.join(work, `${format}-${extra.join('_').replace(/[^\w]/g, '')}.out`);
  const r = spawnSync(NODE, [CLI, 'export', dir, '--format', format, '-o', out, ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`export ${format} failed (${r.status}): ${r.stderr}`);
  expect(r.stderr).toBe('');
  return out;
}

/** Frames speedscope shows: name → most frames of that name in one profile. */
function frameNames(group: { profiles: { forEachFrame(f: (fr: { name: string; file?: string; getTotalWeight(): number }) => void): void }[] }): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of group.profiles) {
    const here = new Map<string, number>();
    p.forEachFrame((f) => here.set(f.name, (here.get(f.name) ?? 0) + 1));
    for (const [k, v] of here) m.set(k, Math.max(v, m.get(k) ?? 0));
  }
  return m;
}

beforeAll(() => {
  const r = runNode(fixture('exports', 'main.js'));
  expect(r.code).toBe(0);
  dir = onlyTrace(r.outDir);
  evs = events(dir);
  work = tempDir('noderec-exports-');
  // The fixture's shape, which the checks below rely on.
  expect(evs.filter((e) => e.kind === 'call' && e.fn === 'deposit').length).toBeGreaterThan(10);
  expect(new Set(evs.map((e) => e.thread)).size).toBe(2);
  expect(evs.some((e) => e.kind === 'await')).toBe(true);
  expect(evs.some((e) => e.kind === 'throw')).toBe(true);
});

describe('jsonl', () => {
  it('the streaming export writes exactly what the whole-trace reader writes', () => {
    const streamed = exportTo('jsonl');
    const whole = path.join(work, 'whole.jsonl');
    native().exportTrace(dir, 'jsonl', whole);
    expect(fs.readFileSync(streamed, 'utf8')).toBe(fs.readFileSync(whole, 'utf8'));
  });
});

describe('speedscope', () => {
  it('opens in speedscope with one frame per function, one profile per thread', () => {
    const file = JSON.parse(fs.readFileSync(exportTo('speedscope'), 'utf8'));
    expect(file.$schema).toBe('https://www.speedscope.app/file-format-schema.json');
    const group = importSpeedscopeProfiles(file);
    expect(group.profiles.length).toBe(2);
    const names = frameNames(group as never);
    // Each function is one frame whatever its arguments.
    for (const fn of ['deposit', 'audit', 'settle', 'ids']) expect(names.get(fn), fn).toBe(1);
    expect(file.shared.frames.filter((f: { name: string }) => f.name === 'deposit').length).toBe(1);
    // No values in the file.
    expect(JSON.stringify(file)).not.toContain('ada');
    // Per thread, the calls speedscope counts match the trace's stretches.
    for (const [i, p] of file.profiles.entries()) {
      const tid = Number(/thread (\d+)/.exec(p.name)![1]);
      const opens = evs.filter((e) => e.thread === tid && (e.kind === 'call' || e.kind === 'resume')).length;
      expect(p.events.filter((e: { type: string }) => e.type === 'O').length, `profile ${i}`).toBe(opens);
      expect(p.events.filter((e: { type: string }) => e.type === 'C').length).toBe(opens);
    }
    // Total weight of deposit = the sum of its stretches in the trace.
    let depositNs = 0;
    const open = new Map<string, number>();
    for (const e of evs) {
      const k = `${e.thread}:${e.activation}`;
      if (e.fn !== 'deposit') continue;
      if (e.kind === 'call' || e.kind === 'resume') open.set(k, e.t);
      else if (open.has(k)) {
        depositNs += e.t - open.get(k)!;
        open.delete(k);
      }
    }
    let weight = 0;
    for (const p of group.profiles) p.forEachFrame((f) => (f.name === 'deposit' ? (weight += f.getTotalWeight()) : 0));
    expect(weight).toBe(depositNs);
  });
});

describe('chrome', () => {
  it('speedscope keys frames by function, not by values; values are on instant events', () => {
    const file = JSON.parse(fs.readFileSync(exportTo('chrome'), 'utf8'));
    const group = importTraceEvents(file);
    const names = [...frameNames(group as never).keys()];
    const deposits = names.filter((n) => n.startsWith('deposit'));
    expect(deposits).toEqual(['deposit (test/fixtures/exports/main.js:6:1)']);
    for (const n of names) expect(n).not.toContain('{');
    // No args on the slices; the values of each deposit call on an instant event.
    const slices = file.traceEvents.filter((e: { ph: string }) => e.ph === 'X');
    for (const s of slices) expect(s.args).toBeUndefined();
    const values = file.traceEvents.filter((e: { ph: string; cat: string }) => e.ph === 'i' && e.cat === 'values');
    const depositCalls = evs.filter((e) => e.kind === 'call' && e.fn === 'deposit');
    const depositValues = values.filter((v: { name: string }) => v.name.startsWith('deposit'));
    expect(depositValues.length).toBe(depositCalls.length);
    expect(depositValues.map((v: { args: { args: unknown[] } }) => v.args.args)).toEqual(depositCalls.map((c) => c.args));
    const thrown = values.find((v: { args: { threw?: boolean } }) => v.args.threw === true);
    expect(JSON.stringify(thrown.args.error)).toContain('over limit: 50');
  });

  it('--no-values leaves every value out', () => {
    const text = fs.readFileSync(exportTo('chrome', ['--no-values']), 'utf8');
    const file = JSON.parse(text);
    expect(file.traceEvents.filter((e: { cat: string }) => e.cat === 'values')).toEqual([]);
    expect(text).not.toContain('"ada"');
    expect(file.traceEvents.filter((e: { ph: string }) => e.ph === 'X').length).toBeGreaterThan(10);
  });
});

const VENDOR = path.join(__dirname, '..', 'vendor');

/** Expected slice names per thread:activation, from the jsonl calls. */
function identities(): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of evs) if (e.kind === 'call') m.set(`${e.thread}:${e.activation}`, `${e.fn} (${e.path}:${e.line}:${e.col})`);
  return m;
}

describe('perfetto', () => {
  it("decodes with Perfetto's published proto, every event as in the trace", () => {
    const root = protobuf.loadSync(path.join(VENDOR, 'perfetto', 'perfetto_trace.proto'));
    const Trace = root.lookupType('perfetto.protos.Trace');
    const bytes = fs.readFileSync(exportTo('perfetto'));
    const msg = Trace.decode(bytes);
    // Nothing unknown or misnumbered: protobufjs skips unknown fields, so
    // re-encoding what it understood must give back every byte.
    expect(Trace.encode(msg).finish().length).toBe(bytes.length);
    const packets = (Trace.toObject(msg, { longs: Number, enums: String }) as { packet: any[] }).packet;
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
    expect(packets[0].trackDescriptor.process.pid).toBe(meta.pid);
    const threads = packets.filter((p) => p.trackDescriptor?.thread).map((p) => p.trackDescriptor);
    expect(threads.map((t) => t.name).sort()).toEqual(['main', expect.stringMatching(/worker|thread/)]);
    const trackThread = new Map<number, number>(threads.map((t) => [t.uuid, t.thread.tid - meta.pid]));
    // Interned names; the first packet that interns clears the state.
    const names = new Map<number, string>();
    let firstInterned = true;
    for (const p of packets) {
      if (p.internedData) {
        expect(p.sequenceFlags).toBe(firstInterned ? 3 : 2);
        firstInterned = false;
        for (const n of p.internedData.eventNames ?? []) names.set(n.iid, n.name);
      }
    }
    // Replay the slices per thread against the jsonl events.
    const ids = identities();
    const expected = new Map<number, { type: string; t: number; name?: string; args?: unknown; text?: string }[]>();
    for (const e of evs) {
      const list = expected.get(e.thread) ?? [];
      expected.set(e.thread, list);
      if (e.kind === 'call' || e.kind === 'resume')
        list.push({ type: 'TYPE_SLICE_BEGIN', t: e.t, name: ids.get(`${e.thread}:${e.activation}`), args: e.kind === 'call' ? e.args : undefined });
      else if (['return', 'throw', 'await', 'yield'].includes(e.kind)) list.push({ type: 'TYPE_SLICE_END', t: e.t });
      else if (e.kind === 'output') list.push({ type: 'TYPE_INSTANT', t: e.t, name: e.stream as string, text: e.text as string });
    }
    const got = new Map<number, { type: string; t: number; name?: string; args?: unknown; text?: string }[]>();
    const flows = new Map<number, number>();
    for (const p of packets) {
      const te = p.trackEvent;
      if (!te) continue;
      const tid = trackThread.get(te.trackUuid)!;
      const list = got.get(tid) ?? [];
      got.set(tid, list);
      const ann = new Map<string, string>((te.debugAnnotations ?? []).map((a: any) => [a.name, a.stringValue]));
      const ev: { type: string; t: number; name?: string; args?: unknown; text?: string } = { type: te.type, t: p.timestamp };
      if (te.type !== 'TYPE_SLICE_END') ev.name = names.get(te.nameIid);
      if (te.type === 'TYPE_SLICE_BEGIN') ev.args = ann.has('args') ? JSON.parse(ann.get('args')!) : undefined;
      if (te.type === 'TYPE_INSTANT') ev.text = ann.get('text');
      list.push(ev);
      for (const f of te.flowIds ?? []) flows.set(f, (flows.get(f) ?? 0) + 1);
    }
    expect(got).toEqual(expected);
    // Each async activation's stretches are joined by a flow: its id on every
    // suspension's END and on the BEGIN of the stretch that resumes.
    const resumes = evs.filter((e) => e.kind === 'resume').length;
    expect(resumes).toBeGreaterThan(0);
    const suspensions = evs.filter((e) => e.kind === 'await' || e.kind === 'yield').length;
    expect([...flows.values()].reduce((a, b) => a + b, 0)).toBe(suspensions + resumes);
  });
});

function otlpTypes() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(VENDOR, 'otlp', target);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
  return {
    Request: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    Response: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
  };
}

/** The varint-length-delimited requests of an OTLP file. */
function delimited(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let len = 0;
    let mul = 1;
    for (;;) {
      const b = buf[pos++];
      len += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) break;
    }
    out.push(buf.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  kind?: string;
  attributes: { key: string; value: { stringValue?: string; intValue?: string; boolValue?: boolean; doubleValue?: number } }[];
  status?: { code: string; message: string };
}

function spansOf(bodies: Buffer[], service = 'main.js'): Span[] {
  const { Request } = otlpTypes();
  const spans: Span[] = [];
  for (const b of bodies) {
    const m = Request.decode(b);
    expect(Request.encode(m).finish().length).toBe(b.length);
    const o = Request.toObject(m, { longs: String, enums: String, bytes: String }) as any;
    expect(o.resourceSpans.length).toBe(1);
    const attrs = Object.fromEntries(o.resourceSpans[0].resource.attributes.map((a: any) => [a.key, a.value]));
    expect(attrs['service.name'].stringValue).toBe(service);
    expect(o.resourceSpans[0].scopeSpans[0].scope.name).toBe('noderec');
    spans.push(...o.resourceSpans[0].scopeSpans[0].spans);
  }
  return spans;
}

function attr(s: Span, key: string): unknown {
  const a = s.attributes.find((x) => x.key === key);
  if (a === undefined) return undefined;
  return a.value.intValue !== undefined ? Number(a.value.intValue) : (a.value.stringValue ?? a.value.boolValue ?? a.value.doubleValue);
}

function checkSpans(spans: Span[]): void {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
  const proc = spans.filter((s) => s.name === 'process main.js');
  expect(proc.length).toBe(1);
  expect(proc[0].parentSpanId ?? '').toBe('');
  expect(attr(proc[0], 'process.pid')).toBe(meta.pid);
  expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
  const ids = new Set(spans.map((s) => s.spanId));
  expect(ids.size).toBe(spans.length);
  // With --min-duration 0 every activation is a span, and every parent exists.
  const calls = evs.filter((e) => e.kind === 'call');
  expect(spans.length).toBe(calls.length + 1);
  for (const s of spans) if (s !== proc[0]) expect(ids.has(s.parentSpanId), s.name).toBe(true);
  // Values and places, call by call.
  const byAct = new Map(spans.map((s) => [`${attr(s, 'thread.id')}:${attr(s, 'noderec.activation')}`, s]));
  for (const c of calls) {
    const s = byAct.get(`${c.thread}:${c.activation}`)!;
    expect(s.name).toBe(c.fn);
    expect(attr(s, 'code.file.path')).toBe(c.path);
    expect(attr(s, 'code.line.number')).toBe(c.line);
    expect(BigInt(s.startTimeUnixNano)).toBe(BigInt(meta.start_ms) * 1_000_000n + BigInt(c.t));
    if (c.fn === 'deposit') expect(JSON.parse(attr(s, 'noderec.args') as string)).toEqual(c.args);
  }
  const audit = spans.filter((s) => s.name === 'audit' && s.status?.code === 'STATUS_CODE_ERROR');
  expect(audit.length).toBe(1);
  expect(audit[0].status!.message).toContain('over limit: 50');
  // A caller is a parent: deposit calls made by settle hang from settle's span.
  const settle = spans.find((s) => s.name === 'settle')!;
  expect(spans.filter((s) => s.parentSpanId === settle.spanId).map((s) => s.name)).toEqual(['deposit', 'deposit', 'deposit']);
}

function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(NODE, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('otlp', () => {
  it('a file of OTLP requests that decode with the official protos', () => {
    const spans = spansOf(delimited(fs.readFileSync(exportTo('otlp', ['--min-duration', '0']))));
    checkSpans(spans);
  });

  it('--min-duration keeps long activations and the callers they need', () => {
    const all = spansOf(delimited(fs.readFileSync(exportTo('otlp', ['--min-duration', '0']))));
    const long = spansOf(delimited(fs.readFileSync(exportTo('otlp', ['--min-duration', '100us']))));
    expect(long.length).toBeLessThan(all.length);
    const ids = new Set(long.map((s) => s.spanId));
    for (const s of long) if (s.name !== 'process main.js') expect(ids.has(s.parentSpanId)).toBe(true);
    const self = (s: Span) => Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano));
    for (const s of long) {
      if (s.name === 'process main.js' || self(s) >= 100_000) continue;
      // A short span is there only as the parent of a long one.
      expect(long.some((c) => c.parentSpanId === s.spanId), s.name).toBe(true);
    }
  });

  it('POSTs to an OTLP/HTTP endpoint, retrying a 503', async () => {
    const bodies: Buffer[] = [];
    let seen = 0;
    const { Response } = otlpTypes();
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        expect(req.method).toBe('POST');
        expect(req.url).toBe('/v1/traces');
        expect(req.headers['content-type']).toBe('application/x-protobuf');
        if (seen++ === 0) {
          res.writeHead(503, { 'retry-after': '0' }).end();
          return;
        }
        bodies.push(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Response.encode(Response.create({})).finish());
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await cli(['export', dir, '--format', 'otlp', '--endpoint', `http://127.0.0.1:${port}`, '--min-duration', '0']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    } finally {
      server.close();
    }
    expect(seen).toBe(bodies.length + 1);
    checkSpans(spansOf(bodies));
  });

  it('an unreachable endpoint is ERR_OTLP_EXPORT naming the URL', async () => {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise((r) => server.close(r));
    const r = await cli(['export', dir, '--format', 'otlp', '--endpoint', `http://127.0.0.1:${port}/`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ERR_OTLP_EXPORT: cannot reach http://127.0.0.1:${port}/v1/traces`);
  });

  it('runs and user spans are spans: run options as attributes, parent run, span attributes and status, innermost parent', async () => {
    const r = runNode(fixture('runs', 'otlp.js'), { env: { NODEREC_API: path.join(__dirname, '..', '..', 'js', 'dist', 'index.js') } });
    expect(r.code, r.stderr).toBe(0);
    const t = onlyTrace(r.outDir);
    const out = path.join(work, 'runs.otlp');
    // A minimum duration no activation reaches: only the process, runs and user spans.
    const x = spawnSync(NODE, [CLI, 'export', t, '--format', 'otlp', '-o', out, '--min-duration', '1000s'], { encoding: 'utf8' });
    expect(x.stderr).toBe('');
    expect(x.status).toBe(0);
    const check = (spans: Span[]): void => {
      const names = spans.map((s) => s.name).sort();
      expect(names).toEqual(['fails', 'left-open', 'load', 'outside', 'parse', 'process otlp.js', 'run batch', 'run batch', 'run batch'].sort());
      const ids = new Map(spans.map((s) => [s.spanId, s]));
      expect(ids.size).toBe(spans.length);
      const proc = spans.find((s) => s.name === 'process otlp.js')!;
      const byRun = (id: string) => spans.find((s) => s.name.startsWith('run') && attr(s, 'noderec.run.id') === id)!;
      const byName = (n: string) => spans.find((s) => s.name === n)!;
      const [job1, job1a, job2] = [byRun('job-1'), byRun('job-1.a'), byRun('job-2')];
      expect(job1.parentSpanId).toBe(proc.spanId);
      expect(job1a.parentSpanId).toBe(job1.spanId);
      expect(job2.parentSpanId).toBe(proc.spanId);
      expect([attr(job1, 'noderec.run.domain'), attr(job1, 'noderec.run.level'), attr(job1, 'noderec.run.sample_id'), attr(job1, 'noderec.run.iteration')]).toEqual(['batch', '2', '7', '3']);
      expect(attr(job1a, 'noderec.run.parent_id')).toBe('job-1');
      expect(attr(job1a, 'noderec.run.domain')).toBe('batch');
      // User spans: attributes as given (typed), parent = innermost open span, else the run, else the process.
      const load = byName('load');
      expect([attr(load, 'file'), attr(load, 'rows'), attr(load, 'ok'), attr(load, 'ratio')]).toEqual(['a.txt', 3, true, 0.5]);
      expect(load.parentSpanId).toBe(job1.spanId);
      expect(attr(load, 'noderec.run.id')).toBe('job-1');
      expect(byName('parse').parentSpanId).toBe(load.spanId);
      expect(byName('outside').parentSpanId).toBe(proc.spanId);
      expect(attr(byName('outside'), 'where')).toBe('no run');
      expect(byName('fails').status?.code).toBe('STATUS_CODE_ERROR');
      expect(byName('fails').parentSpanId).toBe(job1.spanId);
      expect(load.status?.code).toBe('STATUS_CODE_OK');
      expect(attr(byName('left-open'), 'noderec.unfinished')).toBe(true);
      // Children lie within their parents.
      for (const s of spans) {
        const p = ids.get(s.parentSpanId);
        if (p === undefined || s.name === 'left-open') continue;
        expect(BigInt(s.startTimeUnixNano) >= BigInt(p.startTimeUnixNano), s.name).toBe(true);
        expect(BigInt(s.endTimeUnixNano) <= BigInt(p.endTimeUnixNano), s.name).toBe(true);
      }
    };
    check(spansOf(delimited(fs.readFileSync(out)), 'otlp.js'));
    // Activation spans name the run they were called in.
    const all = path.join(work, 'runs-all.otlp');
    expect(spawnSync(NODE, [CLI, 'export', t, '--format', 'otlp', '-o', all, '--min-duration', '0']).status).toBe(0);
    const works = spansOf(delimited(fs.readFileSync(all)), 'otlp.js').filter((s) => s.name === 'work');
    expect(works.map((s) => [JSON.parse(attr(s, 'noderec.args') as string)[0], attr(s, 'noderec.run.id')]).sort()).toEqual([
      [1, undefined],
      [2, 'job-1'],
      [3, 'job-1.a'],
      [4, 'job-1'],
    ]);
    // The same spans through a loopback OTLP/HTTP receiver.
    const bodies: Buffer[] = [];
    const { Response } = otlpTypes();
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Response.encode(Response.create({})).finish());
      });
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as { port: number }).port;
    try {
      const c = await cli(['export', t, '--format', 'otlp', '--endpoint', `http://127.0.0.1:${port}`, '--min-duration', '1000s']);
      expect(c.stderr).toBe('');
      expect(c.code).toBe(0);
    } finally {
      server.close();
    }
    check(spansOf(bodies, 'otlp.js'));
  });

  it('needs exactly one destination', () => {
    const r = spawnSync(NODE, [CLI, 'export', dir, '--format', 'otlp'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--format otlp needs one of -o FILE or --endpoint URL');
  });
});

describe('parquet', () => {
  it('reads back in DuckDB: counts, a join of calls and returns, values as JSON', async () => {
    const file = exportTo('parquet');
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'true' });
    const con = await db.connect();
    const q = async (sql: string) => (await con.runAndReadAll(sql.replaceAll('$F', `read_parquet('${file}')`))).getRowObjectsJS();
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
    expect(await q('select count(*)::INT n, count(distinct run)::INT runs, min(run) run from $F')).toEqual([{ n: evs.length, runs: 1, run: meta.run_id }]);
    const kinds = await q('select kind, count(*)::INT n from $F group by kind order by kind');
    const want = new Map<string, number>();
    for (const e of evs) want.set(e.kind, (want.get(e.kind) ?? 0) + 1);
    expect(kinds).toEqual([...want].sort(([a], [b]) => a.localeCompare(b)).map(([kind, n]) => ({ kind, n })));
    // Every row, in order, against the jsonl events.
    const rows = await q('select thread, activation::INT activation, depth, fn, path, line, col, kind, t::BIGINT t, values::VARCHAR v from $F');
    expect(rows.map((r: any) => [r.thread, r.activation, r.depth, r.fn, r.kind, Number(r.t), r.line, r.col])).toEqual(
      evs.map((e) => [e.thread, e.activation, e.depth, e.fn, e.kind, e.t, e.line, e.col]),
    );
    // A join: each deposit call with its return, the return value from JSON.
    const joined = await q(`select c.thread, c.activation::INT activation, json_extract(c.values, '$.args[1]')::INT amount,
        json_extract(r.values, '$.value')::INT balance, r.dur::BIGINT dur
      from $F c join $F r on c.thread = r.thread and c.activation = r.activation and r.kind = 'return'
      where c.kind = 'call' and c.fn = 'deposit' order by c.thread, c.activation`);
    const calls = evs.filter((e) => e.kind === 'call' && e.fn === 'deposit');
    expect(joined.map((r: any) => [r.thread, r.activation, r.amount])).toEqual(
      calls.map((c) => [c.thread, c.activation, (c.args as number[])[1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]),
    );
    for (const r of joined as any[]) {
      const ret = evs.find((e) => e.kind === 'return' && e.thread === r.thread && e.activation === r.activation)!;
      expect(r.balance).toBe(ret.value);
      const call = evs.find((e) => e.kind === 'call' && e.thread === r.thread && e.activation === r.activation)!;
      expect(Number(r.dur)).toBe(ret.t - call.t);
    }
    con.closeSync();
  });

  it('a run_id column: the runId (noderec.run) each event belongs to, null outside runs', async () => {
    const r = runNode(fixture('runs', 'concurrent.js'), { env: { NODEREC_API: path.join(__dirname, '..', '..', 'js', 'dist', 'index.js') } });
    expect(r.code, r.stderr).toBe(0);
    const t = onlyTrace(r.outDir);
    const file = path.join(work, 'runs.parquet');
    const x = spawnSync(NODE, [CLI, 'export', t, '--format', 'parquet', '-o', file], { encoding: 'utf8' });
    expect(x.stderr).toBe('');
    expect(x.status).toBe(0);
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'true' });
    const con = await db.connect();
    const q = async (sql: string) => (await con.runAndReadAll(sql.replaceAll('$F', `read_parquet('${file}')`))).getRowObjectsJS();
    // Every step call is in its own run: 100 runs of 5 calls, each with its run's number as argument.
    const perRun = await q(`select run_id, count(*)::INT n, count(distinct json_extract(values, '$.args[0]')::INT)::INT args,
        min(json_extract(values, '$.args[0]')::INT) arg from $F where kind = 'call' and fn = 'step' group by run_id order by arg`);
    expect(perRun).toEqual(Array.from({ length: 100 }, (_, i) => ({ run_id: `run-${i}`, n: 5, args: 1, arg: i })));
    // What ran outside every run has no run_id.
    expect(await q(`select run_id from $F where kind = 'call' and fn = 'outside'`)).toEqual([{ run_id: null }]);
    // The same counts as the jsonl export's events carrying the run.
    const want = new Map<string, number>();
    for (const e of events(t)) if (typeof e.run === 'string' && !['run', 'span', 'log'].includes(e.kind as string)) want.set(e.run, (want.get(e.run) ?? 0) + 1);
    const got = await q('select run_id, count(*)::INT n from $F where run_id is not null group by run_id order by run_id');
    expect(got).toEqual([...want].sort(([a], [b]) => a.localeCompare(b)).map(([run_id, n]) => ({ run_id, n })));
    con.closeSync();
  });

  it('needs an output file', () => {
    const r = spawnSync(NODE, [CLI, 'export', dir, '--format', 'parquet'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--format parquet needs -o FILE');
  });
});

describe('codetracer', () => {
  const bin = codetracerBin();
  it.skipIf(!fs.existsSync(bin))(
    'writes a CodeTracer trace that runtime_tracing reads back (skipped unless `npm run build:codetracer` has run; it needs capnp)',
    () => {
      const out = path.join(work, 'ct');
      const r = spawnSync(NODE, [CLI, 'export', dir, '--format', 'codetracer', '-o', out], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const back = spawnSync(bin, ['--read', out], { encoding: 'utf8', maxBuffer: 1 << 28 });
      expect(back.status).toBe(0);
      const got = JSON.parse(back.stdout) as { counts: Record<string, number>; functions: string[]; calls: string[]; output: string[]; json: any[] };
      const ids = identities();
      const opens = evs.filter((e) => e.kind === 'call' || e.kind === 'resume');
      // Every stretch is a call (after the writer's own <toplevel>), in order.
      expect(got.calls[0]).toBe('<toplevel>');
      expect(got.calls.slice(1)).toEqual(opens.map((e) => ids.get(`${e.thread}:${e.activation}`)));
      expect(got.counts.return).toBe(evs.filter((e) => ['return', 'throw', 'await', 'yield'].includes(e.kind)).length);
      expect(got.functions.filter((f) => f.startsWith('deposit'))).toEqual(['deposit (test/fixtures/exports/main.js:6:1)']);
      expect(got.output).toEqual(evs.filter((e) => e.kind === 'output').map((e) => e.text));
      // Values with types: the first deposit's arguments by parameter name.
      const values = got.json.filter((e) => e.Value !== undefined).map((e) => e.Value);
      expect(values.some((v) => v.value.kind === 'Int' && v.value.i === 2)).toBe(true);
      expect(got.json.some((e) => e.Return?.return_value?.kind === 'Error' && String(e.Return.return_value.msg).includes('over limit: 50'))).toBe(true);
      // The sources, where CodeTracer looks for them.
      const meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
      expect(fs.existsSync(path.join(out, 'files', meta.root, 'test/fixtures/exports/main.js'))).toBe(true);
      for (const f of ['trace_metadata.json', 'trace_paths.json', 'trace.bin']) expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    },
  );

  it('without the exporter built: ERR_CODETRACER_NOT_BUILT naming the command that builds it', () => {
    const r = spawnSync(NODE, [CLI, 'export', dir, '--format', 'codetracer', '-o', path.join(work, 'ct-none')], {
      encoding: 'utf8',
      env: { ...process.env, NODEREC_CODETRACER_BIN: path.join(work, 'no-such-binary') },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('ERR_CODETRACER_NOT_BUILT');
    expect(r.stderr).toContain('npm run build:codetracer');
  });
});

describe('filters', () => {
  const jsonl = (extra: string[]): Event[] =>
    fs
      .readFileSync(exportTo('jsonl', extra), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Event);

  it('--thread keeps one thread', () => {
    expect(jsonl(['--thread', '1'])).toEqual(evs.filter((e) => e.thread === 1));
    expect(jsonl(['--thread', '0'])).toEqual(evs.filter((e) => e.thread === 0));
  });

  it('--from/--to keep a time window (units ns, us, ms, s)', () => {
    const ts = evs.map((e) => e.t).sort((a, b) => a - b);
    const from = ts[Math.floor(ts.length / 3)];
    const to = ts[Math.floor((2 * ts.length) / 3)];
    const got = jsonl(['--from', `${from}ns`, `--to=${to / 1000}us`]);
    expect(got).toEqual(evs.filter((e) => e.t >= from && e.t <= to));
    expect(got.length).toBeGreaterThan(0);
    // Slices cut by the window stay balanced in speedscope.
    const ss = JSON.parse(fs.readFileSync(exportTo('speedscope', ['--from', `${from}ns`, '--to', `${to}ns`]), 'utf8'));
    expect(() => importSpeedscopeProfiles(ss)).not.toThrow();
  });

  it('--run with an id that is neither the trace\'s noderec record run nor a run inside it: ERR_RUN_MISSING', () => {
    const r = spawnSync(NODE, [CLI, 'export', dir, '--format', 'jsonl', '--run', 'nope'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("ERR_RUN_MISSING: no run 'nope' in trace");
    expect(r.stdout).toBe('');
  });

  it('bad filter values are usage errors naming the option', () => {
    for (const [args, msg] of [
      [['--from', 'soon'], '--from needs a time'],
      [['--thread', 'x'], '--thread needs a thread id'],
      [['--format', 'svg'], '--format must be one of'],
      [['--from', '2ms', '--to', '1ms'], '--to is before --from'],
    ] as const) {
      const r = spawnSync(NODE, [CLI, 'export', dir, ...args], { encoding: 'utf8' });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(msg);
    }
  });
});

describe('damaged traces', () => {
  it('exports everything before the damage and says so', () => {
    const cut = path.join(work, 'cut');
    fs.mkdirSync(cut);
    fs.copyFileSync(path.join(dir, 'metadata.json'), path.join(cut, 'metadata.json'));
    const bytes = fs.readFileSync(path.join(dir, 'trace.nrt'));
    fs.writeFileSync(path.join(cut, 'trace.nrt'), bytes.subarray(0, bytes.length - 7));
    const whole = path.join(work, 'cut-whole.jsonl');
    native().exportTrace(cut, 'jsonl', whole);
    const out = path.join(work, 'cut.jsonl');
    const r = spawnSync(NODE, [CLI, 'export', cut, '--format', 'jsonl', '-o', out], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('ERR_TRACE_INCOMPLETE');
    expect(r.stderr).toContain('reading stopped: cut chunk');
    expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(whole, 'utf8'));
    const ok = spawnSync(NODE, [CLI, 'export', cut, '--format', 'perfetto', '--allow-partial', '-o', out + '.pftrace'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain('ERR_TRACE_INCOMPLETE');
  });
});

describe('progress', () => {
  it('is quiet when stderr is not a terminal', () => {
    const r = runCli(['export', dir, '--format', 'perfetto', '-o', path.join(work, 'quiet.pftrace')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('draws a bar with events/s and ETA', () => {
    expect(progressLine(50, 100, 2_000_000, 2, 10)).toBe('[#####-----]  50%  2.0M events  1.0M events/s  ETA 2s');
    expect(progressLine(0, 100, 0, 1, 4)).toBe('[----]   0%  0 events  0 events/s  ETA --');
  });
});
