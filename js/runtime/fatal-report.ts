// What Node prints for an uncaught exception (issue 8): `file:line`, the
// source line, a caret under the throw, then the error. Node takes the line
// from the code V8 runs, which for an instrumented file holds probes. It asks
// Node's source map machinery instead when the script names a source map and
// source maps are enabled, so:
//
// - every instrumented file ends with `//# sourceMappingURL=data:,` (no map:
//   with source maps enabled by the program nothing changes), or keeps its own;
// - when an exception is about to end the process (no handler; Node emits
//   'exit' just before printing), the program's stack traces are formatted
//   already, and only then: source maps are enabled, and for the files the
//   exception went through, a map is registered (an eval'd script with
//   `//# sourceURL` and an inline map: the way Node caches maps of eval'd
//   code) whose source is the file as the program wrote it, with
//   SourceMap#findEntry answering from the instrumenter's list of insertions;
// - in the standard case (a native error, no --trace-uncaught and the like,
//   no inspector), when Node asks the map for the throw's position, the
//   report is printed here exactly as Node's C++ prints it without the
//   recorder, and the process exits as Node would (process.exitCode, else
//   1): Node 20 would format the source-map report with one more blank
//   line, Node 22 would name an ES module by its path, and Node >= 22's code
//   after that question calls the program's RegExp.prototype.exec. Outside
//   the standard case, Node prints its own report through the map.
//
// Anything unexpected leaves Node's own report (with the instrumented line).
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import * as tty from 'node:tty';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as util from 'node:util';

import { native } from '../native';
import type { BindingEditMap } from '../native/binding';
import { definerErrors } from './definers';
import {
  ArrayIsArray,
  ArrayPrototypeJoin,
  BufferFrom,
  BufferPrototypeToString,
  JSONStringify,
  MapPrototypeGet,
  MapPrototypeHas,
  MapPrototypeSet,
  ObjectGetOwnPropertyDescriptor,
  ObjectGetOwnPropertySymbols,
  ObjectGetPrototypeOf,
  ReflectApply,
  RegExpPrototypeExec,
  StringPrototypeEndsWith,
  StringPrototypeIncludes,
  StringPrototypeSlice,
  StringPrototypeSplit,
  StringPrototypeStartsWith,
  TypedArrayPrototypeGetLength,
  WeakMapPrototypeGet,
  EventEmitterPrototypeListenerCount,
  EventEmitterPrototypeOn,
  EventEmitterPrototypeRemoveListener,
  ownApply,
  reTest,
  splitLines,
} from './primordials';

// Everything below runs while the program ends, after its code replaced
// whatever built-ins it wanted: only captured built-ins are called
// (./primordials, decision 54), no RegExp method but the captured `exec`,
// no for-of or spread over arrays or maps of ours.
const isNativeError = util.types.isNativeError;
const SymbolPrototypeGetDescription = (ObjectGetOwnPropertyDescriptor(Symbol.prototype, 'description') as PropertyDescriptor).get as (this: symbol) => string | undefined;
const isProxy = util.types.isProxy;
const MapCtor = Map;
const MapPrototypeEntries = (Map.prototype as { entries: () => unknown }).entries;
const MapIteratorNext = ObjectGetPrototypeOf(new Map().entries()).next as () => IteratorResult<[string, string]>;
/** The entries of a map of ours, in order. */
function mapEntries(m: Map<string, string>): [string, string][] {
  const out: [string, string][] = [];
  const it = ReflectApply(MapPrototypeEntries, m, []);
  for (;;) {
    const r = ReflectApply(MapIteratorNext, it, []);
    if (r.done === true) break;
    out[out.length] = r.value;
  }
  return out;
}

/** The file's source and, per 0-based line, [generated UTF-16 column, UTF-16 length] of each insertion. */
type Edits = BindingEditMap;

interface Injected {
  edits: Edits;
  /** How Node names the script in messages: a path (CommonJS) or a file URL (ES module). */
  resource: string;
  /** The source split into lines as V8 counts them. */
  sourceLines: string[];
}

/** Captured at install: the program may replace it. */
const evaluate = globalThis.eval;
const NODE_MAJOR = Number(StringPrototypeSplit(process.versions.node, '.')[0]);
const ErrorCtor = Error;
const ErrorCaptureStackTrace = Error.captureStackTrace;
type CallSite = { getFunctionName(): string | null };
/** V8's CallSite#getFunctionName, taken from a stack captured at install. */
const CallSiteGetFunctionName = ((): ((this: CallSite) => string | null) | undefined => {
  const d = ObjectGetOwnPropertyDescriptor(ErrorCtor, 'prepareStackTrace');
  if (d !== undefined && !('value' in d && d.writable === true)) return undefined;
  const holder: { stack?: unknown } = {};
  try {
    ErrorCtor.prepareStackTrace = (_e, cs) => cs;
    ErrorCaptureStackTrace(holder);
    const cs = holder.stack as CallSite[];
    return ObjectGetPrototypeOf(cs[0]).getFunctionName as (this: CallSite) => string | null;
  } catch {
    return undefined;
  } finally {
    if (d === undefined) delete (ErrorCtor as { prepareStackTrace?: unknown }).prepareStackTrace;
    else ErrorCtor.prepareStackTrace = d.value;
  }
})();

let pending: unknown = undefined;
let candidates: Map<string, string> = new MapCtor();
/** Where a definer's error (js/runtime/definers.ts) was thrown, as the
 * program sees it: the first frame of its stack in a file. */
let definerAt: { file: string; resource: string; line: number; col: number; atFrame?: boolean } | null = null;
/** Where an error raised inside the recorder (a stack overflow in a probe)
 * was, as the program sees it: the first frame of its stack that is not the
 * recorder's. */
let recorderTopAt: { file: string; resource: string; line: number; col: number } | null = null;
const injected = new MapCtor<string, Injected>();
let patched = false;

function hasFlag(flag: string): boolean {
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) if (argv[i] === flag) return true;
  // NODE_OPTIONS split at blanks (no RegExp: its methods are the program's).
  const o = process.env.NODE_OPTIONS ?? '';
  let from = 0;
  for (let i = 0; i <= o.length; i++) {
    if (i === o.length || o[i] === ' ' || o[i] === '\t' || o[i] === '\n' || o[i] === '\r' || o[i] === '\f' || o[i] === '\v') {
      if (i > from && StringPrototypeSlice(o, from, i) === flag) return true;
      from = i + 1;
    }
  }
  return false;
}

/** Source maps on already (the program's choice): Node's machinery is the program's. */
function sourceMapsOn(): boolean {
  const p = process as unknown as { sourceMapsEnabled?: boolean };
  if (typeof p.sourceMapsEnabled === 'boolean') return p.sourceMapsEnabled;
  return hasFlag('--enable-source-maps');
}

/** V8's own getter of `stack` (Node >= 22; Node 20 has a data property). */
const STACK_GETTER = ObjectGetOwnPropertyDescriptor(new Error(), 'stack')?.get;

/** The stack V8 captured for an error or an error-like object (a
 * DOMException, an object given to Error.captureStackTrace): its own `stack`
 * property, formatted now. Calls no code of the program (no proxy trap, no
 * getter but V8's). */
function ownStack(err: unknown): string | undefined {
  if (err === null || (typeof err !== 'object' && typeof err !== 'function') || isProxy(err)) return undefined;
  let d: PropertyDescriptor | undefined;
  try {
    d = ObjectGetOwnPropertyDescriptor(err, 'stack');
  } catch {
    return undefined;
  }
  if (d === undefined) return undefined;
  if ('value' in d) return typeof d.value === 'string' ? d.value : undefined;
  if (d.get === undefined || d.get !== STACK_GETTER) return undefined;
  try {
    const s: unknown = ReflectApply(d.get, err, []);
    return typeof s === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Script names in a stack: `(file:line:col)` or `at file:line:col`. */
function stackScripts(err: unknown, into: Map<string, string>): void {
  const stack = ownStack(err);
  if (stack === undefined) return;
  const re = /(?:\(|at )((?:file:\/\/)?\/[^():\n]*):\d+:\d+\)?$/gm;
  for (;;) {
    const m = RegExpPrototypeExec(re, stack);
    if (m === null) break;
    const name = m[1];
    const file = StringPrototypeStartsWith(name, 'file://') ? safePath(name) : name;
    if (file !== null && !MapPrototypeHas(into, file)) MapPrototypeSet(into, file, name);
  }
}

function safePath(url: string): string | null {
  try {
    return fileURLToPath(url);
  } catch {
    return null;
  }
}

/** The uncaught exception `err` came from function `innermost` (0: unknown).
 * Called from the uncaughtExceptionMonitor; arms the report when nothing
 * will handle the exception. */
export function noteUncaught(err: unknown, innermost: number): void {
  if (EventEmitterPrototypeListenerCount(process, 'uncaughtException') > 0 || process.hasUncaughtExceptionCaptureCallback()) return;
  definerAt = null;
  if (err !== null && typeof err === 'object') {
    // An error that a wrapped definer rethrew: Node's report would show the
    // wrapper's line (or Node's own, when it ends the process as a rejection,
    // its stack having been formatted). It is reported here, at the first
    // frame of its stack in a file (also when the program turned source maps
    // on: a frame in a file of its own map names that file, read as it is).
    const frames = (WeakMapPrototypeGet(definerErrors, err) as string[] | undefined) ?? [];
    for (let i = 0; i < frames.length; i++) {
      const m = RegExpPrototypeExec(/(?:\(|at )((?:file:\/\/)?\/[^():\n]*):(\d+):(\d+)\)?$/, frames[i]);
      if (m === null) continue;
      const file = StringPrototypeStartsWith(m[1], 'file://') ? safePath(m[1]) : m[1];
      if (file !== null) definerAt = { file, resource: m[1], line: Number(m[2]) - 1, col: Number(m[3]) - 1 };
      break;
    }
  }
  if (definerAt === null) definerAt = decoratedAt(err, innermost);
  recorderTopAt = definerAt === null && !sourceMapsOn() ? stripRecorderTop(err) : null;
  if (sourceMapsOn() && definerAt === null) return;
  pending = err;
  candidates = new MapCtor();
  // The stack names each file as Node does (an ES module by its URL, also
  // a `.js` one); the innermost function's file, when the stack lacks it,
  // by a guess from its extension.
  stackScripts(err, candidates);
  if (innermost > 0) {
    try {
      const file = native().functionPath(innermost);
      if (file !== null && !MapPrototypeHas(candidates, file)) MapPrototypeSet(candidates, file, StringPrototypeEndsWith(file, '.mjs') ? pathToFileURL(file).href : file);
    } catch {
      // no file known
    }
  }
  // After the program's own 'exit' listeners: Node emits 'exit' right before its report.
  // (`on` and a listener with its own `apply`: Node's `once` wrapper and
  // emit would call Function.prototype.apply, the program's.)
  if (!listening) {
    listening = true;
    EventEmitterPrototypeOn(process, 'exit', onExit);
  }
}

let listening = false;
const onExit = ownApply((): void => {
  listening = false;
  EventEmitterPrototypeRemoveListener(process, 'exit', onExit);
  prepare();
});

/** Formats the stacks of `err` and of the errors it holds, while source maps are off. */
function formatStacks(err: unknown, depth: number): void {
  if (depth > 8 || ownStack(err) === undefined) return;
  const e = err as { cause?: unknown; errors?: unknown };
  const cause = ObjectGetOwnPropertyDescriptor(e, 'cause');
  if (cause !== undefined && 'value' in cause) formatStacks(cause.value, depth + 1);
  const errors = ObjectGetOwnPropertyDescriptor(e, 'errors');
  if (errors !== undefined && ArrayIsArray(errors.value)) {
    const xs = errors.value as unknown[];
    for (let i = 0; i < xs.length; i++) formatStacks(xs[i], depth + 1);
  }
}

function prepare(): void {
  const err = pending;
  pending = undefined;
  try {
    const top = recorderTopAt;
    recorderTopAt = null;
    if (top !== null) {
      reportRecorderTop(err, top, native().fatalSourceInfo(top.file) ?? undefined);
      return;
    }
    const at = definerAt;
    definerAt = null;
    if (at !== null) {
      const edits = native().fatalSourceInfo(at.file);
      reportDefinerError(err, at, edits ?? undefined);
      return;
    }
    const found: [string, string, Edits][] = [];
    const cs = mapEntries(candidates);
    for (let i = 0; i < cs.length; i++) {
      const edits = native().fatalSourceInfo(cs[i][0]);
      if (edits !== null) found[found.length] = [cs[i][0], cs[i][1], edits];
    }
    if (found.length === 0) return;
    formatStacks(err, 0);
    process.setSourceMapsEnabled(true);
    for (let i = 0; i < found.length; i++) register(found[i][0], found[i][1], found[i][2]);
    patchFindEntry(err);
  } catch {
    // Node prints its own report.
  }
}

function register(file: string, resource: string, edits: Edits): void {
  const url = pathToFileURL(file).href;
  const payload = { version: 3, sources: [url], sourcesContent: [edits.source], names: [], mappings: 'AAAA' };
  MapPrototypeSet(injected, url, { edits, resource, sourceLines: splitLines(edits.source) });
  const map = BufferPrototypeToString(BufferFrom(JSONStringify(payload)), 'base64');
  evaluate(`//# sourceURL=${url}\n//# sourceMappingURL=data:application/json;base64,${map}`);
}

/** Reports an error a definer threw at `at`, its top frame in a file (the
 * program's call of the definer, or the throw in a descriptor's getter: the
 * frame's column is that of the error's creation, moved to a \`throw\` just
 * before it on the line). */
function reportDefinerError(err: unknown, at: { file: string; resource: string; line: number; col: number; atFrame?: boolean }, edits: Edits | undefined): void {
  const e: Edits = edits ?? { source: fs.readFileSync(at.file, 'utf8'), lines: {} };
  const script: Injected = { edits: e, resource: at.resource, sourceLines: splitLines(e.source) };
  const text = script.sourceLines[at.line];
  if (text === undefined) return;
  let column = originalColumn(e, at.line, at.col);
  const before = at.atFrame === true ? null : RegExpPrototypeExec(/\bthrow\s+$/, StringPrototypeSlice(text, 0, column));
  if (before !== null) column = before.index;
  reportAndExit(err, script, at.line, column);
}

/** The recorder's own code: its compiled files, and the value encoder's
 * readers (named `noderec://plan-…`). */
const RECORDER_DIR = path.dirname(__dirname) + path.sep;
const BUILTIN_AT = /^\s+at [^\n]*\((?:<anonymous>|native)\)$|^\s+at [^(\n]*<anonymous>$/;
const FRAME_AT = /^\s+at (?:.*\()?((?:file:\/\/)?\/[^():\n]*|noderec:\/\/[^():\n]*):(\d+):(\d+)\)?$/;

/** An error whose stack starts in the recorder (a stack overflow raised
 * inside a probe: its frame, or the encoder's under it): its `stack` loses
 * those frames, as the program is ending (the report prints it), and the
 * first frame left is returned, where the report puts the source line and
 * caret. Null (nothing changed) for any other error. */
function stripRecorderTop(err: unknown): { file: string; resource: string; line: number; col: number } | null {
  if (!isNativeError(err)) return null;
  const stack = ownStack(err);
  if (stack === undefined) return null;
  const lines = StringPrototypeSplit(stack, '\n');
  let first = -1;
  for (let k = 0; k < lines.length; k++) {
    if (reTest(/^\s+at /, lines[k])) {
      first = k;
      break;
    }
  }
  if (first < 0) return null;
  // The recorder's frames, and V8's builtins it called (a `get length` or
  // `join` the overflow happened in: `(<anonymous>)`, `(native)`), up to
  // the last frame of the recorder's.
  let i = first;
  let last = -1;
  for (; i < lines.length; i++) {
    if (reTest(BUILTIN_AT, lines[i])) continue;
    const m = RegExpPrototypeExec(FRAME_AT, lines[i]);
    if (m === null || !(StringPrototypeStartsWith(m[1], 'noderec://') || StringPrototypeStartsWith(StringPrototypeStartsWith(m[1], 'file://') ? safePath(m[1]) ?? '' : m[1], RECORDER_DIR))) break;
    last = i;
  }
  if (last < 0 || i === lines.length) return null;
  const m = RegExpPrototypeExec(FRAME_AT, lines[i]);
  if (m === null) return null;
  const file = StringPrototypeStartsWith(m[1], 'file://') ? safePath(m[1]) : m[1];
  if (file === null) return null;
  try {
    const kept: string[] = [];
    for (let k = 0; k < lines.length; k++) if (k < first || k > last) kept[kept.length] = lines[k];
    (err as Error).stack = ArrayPrototypeJoin(kept, '\n');
  } catch {
    return null;
  }
  return { file, resource: m[1], line: Number(m[2]) - 1, col: Number(m[3]) - 1 };
}

/** An error thrown by an ES module that left the module's evaluation for
 * require() (require(esm): Node's ModuleJobSync, under the recorder's
 * `_compile` on Node 20, hooks/cjs.ts): Node's EvaluateSync stored its
 * source line then, from the running (instrumented) code, and its report
 * prints that line. It is reported here instead, like a definer's error,
 * at the first frame of its stack, when that is an ES module's. Null for
 * any other error (or when the stack was cut before those frames). */
function decoratedAt(err: unknown, innermost: number): { file: string; resource: string; line: number; col: number; atFrame: true } | null {
  if (!isNativeError(err)) return null;
  const stack = ownStack(err);
  if (stack === undefined || !(StringPrototypeIncludes(stack, ESM_COMPILE_FRAME) || StringPrototypeIncludes(stack, RUN_SYNC_FRAME))) return null;
  const lines = StringPrototypeSplit(stack, '\n');
  for (let k = 0; k < lines.length; k++) {
    const m = RegExpPrototypeExec(FRAME_AT, lines[k]);
    if (m === null) continue;
    const file = StringPrototypeStartsWith(m[1], 'file://') ? safePath(m[1]) : m[1];
    // An ES module's frame (named by its URL): V8 placed the message at
    // the error's own position.
    if (file === null || StringPrototypeStartsWith(file, RECORDER_DIR) || !StringPrototypeStartsWith(m[1], 'file://')) return null;
    // Only when the error left from that module's code: an error created
    // there but thrown later by another function (innermost, in another
    // file) is reported by Node at the throw (review59).
    if (innermost > 0) {
      let at: string | null = null;
      try {
        at = native().functionPath(innermost);
      } catch {
        at = null;
      }
      if (at !== null && at !== file) return null;
    }
    // Where V8 placed the message Node stored: the error's own position
    // (the exception left the module's evaluation, V8 took it from the stack).
    return { file, resource: m[1], line: Number(m[2]) - 1, col: Number(m[3]) - 1, atFrame: true };
  }
  return null;
}
/** Node's evaluation of a module require() loads (Node 20 and 22). */
const RUN_SYNC_FRAME = 'at ModuleJobSync.runSync (node:internal/modules/esm/module_job:';
/** The recorder's `_compile` for require(esm) in a stack (hooks/cjs.ts). */
const ESM_COMPILE_FRAME = `at Module._compile (${path.join(path.dirname(__dirname), 'hooks', 'cjs.js')}:`;

/** Reports an error raised in the recorder at the program's frame `at`: a
 * position inside an insertion (the probe's call) is moved to what follows
 * it in the source, past blanks (a function's first statement: where V8
 * reports the overflow of a function's entry without the recorder). */
function reportRecorderTop(err: unknown, at: { file: string; resource: string; line: number; col: number }, edits: Edits | undefined): void {
  const e: Edits = edits ?? { source: fs.readFileSync(at.file, 'utf8'), lines: {} };
  const script: Injected = { edits: e, resource: at.resource, sourceLines: splitLines(e.source) };
  let line = at.line;
  let column = originalColumn(e, line, at.col);
  if (insideInsertion(e, line, at.col)) {
    while (line < script.sourceLines.length) {
      const text = script.sourceLines[line];
      while (column < text.length && reTest(/\s/, text[column])) column++;
      if (column < text.length) break;
      line++;
      column = 0;
    }
  }
  if (script.sourceLines[line] === undefined) return;
  reportAndExit(err, script, line, column);
}

/** Whether a column of the running code on `line` is inside an insertion. */
function insideInsertion(edits: Edits, line: number, col: number): boolean {
  const cuts = edits.lines[String(line)] ?? [];
  for (let i = 0; i < cuts.length; i++) if (col >= cuts[i][0] && col < cuts[i][0] + cuts[i][1]) return true;
  return false;
}

/** The source column of a column of the running code on `line`. */
function originalColumn(edits: Edits, line: number, col: number): number {
  const cuts = edits.lines[String(line)];
  if (cuts === undefined) return col;
  let shift = 0;
  for (let i = 0; i < cuts.length; i++) {
    const at = cuts[i][0];
    const len = cuts[i][1];
    if (col < at) break;
    if (col < at + len) return at - shift;
    shift += len;
  }
  return col - shift;
}

type FindEntry = (this: { payload?: { sources?: string[] } }, line: number, col: number) => unknown;

function patchFindEntry(err: unknown): void {
  if (patched) return;
  const SourceMap = (Module as unknown as { SourceMap?: { prototype: { findEntry: FindEntry } } }).SourceMap;
  if (SourceMap === undefined) return;
  patched = true;
  const findEntry = SourceMap.prototype.findEntry;
  const patchedFindEntry = function (this: { payload?: { sources?: string[] } }, line: number, col: number): unknown {
    const url = this.payload?.sources?.[0];
    const ours = url === undefined ? undefined : (MapPrototypeGet(injected, url) as Injected | undefined);
    if (ours === undefined) return ReflectApply(findEntry, this, [line, col]);
    const column = originalColumn(ours.edits, line, col);
    // The report's question (Node's getSourceMapErrorSource, not a stack
    // some code formats meanwhile): printed here in the standard case on
    // every Node (Node 20 adds a blank line, Node 22 prints a path where it
    // printed the URL of an ES module, and after this findEntry Node's
    // source-map code splits the file's text with a RegExp, which calls the
    // program's RegExp.prototype.exec: decision 59). Outside the standard
    // case, Node prints its report through that code.
    const caller = callerOf(patchedFindEntry);
    if (caller === 'getSourceMapErrorSource' || (caller === undefined && (NODE_MAJOR < 22 || StringPrototypeStartsWith(ours.resource, 'file:')))) {
      reportAndExit(err, ours, line, column);
    }
    return { generatedLine: line, generatedColumn: col, originalSource: url, originalLine: line, originalColumn: column };
  };
  SourceMap.prototype.findEntry = patchedFindEntry;
}

/** The name of the function that called `fn` (running), from V8's call
 * sites: no code of the program runs (the stack is not formatted, so
 * Node's source-map code is not asked). Undefined when it cannot be told
 * (the program made `Error.prepareStackTrace` an accessor, or replaced the
 * global `Error`). */
function callerOf(fn: (...a: never[]) => unknown): string | null | undefined {
  if (CallSiteGetFunctionName === undefined || ObjectGetOwnPropertyDescriptor(globalThis, 'Error')?.value !== ErrorCtor) return undefined;
  const d = ObjectGetOwnPropertyDescriptor(ErrorCtor, 'prepareStackTrace');
  if (d !== undefined && !('value' in d && d.writable === true && d.configurable === true)) return undefined;
  const holder: { stack?: unknown } = {};
  try {
    ErrorCtor.prepareStackTrace = (_e, cs) => cs;
    ErrorCaptureStackTrace(holder, fn);
    const cs = holder.stack;
    if (!ArrayIsArray(cs) || cs.length === 0) return undefined;
    return ReflectApply(CallSiteGetFunctionName, cs[0], []);
  } catch {
    return undefined;
  } finally {
    if (d === undefined) delete (ErrorCtor as { prepareStackTrace?: unknown }).prepareStackTrace;
    else ErrorCtor.prepareStackTrace = d.value;
  }
}

/** Prints the report as ReportFatalException does (node_errors.cc) and exits
 * as TriggerUncaughtException does; returns (and leaves the report to Node)
 * outside the standard case. */
function reportAndExit(err: unknown, script: Injected, line: number, column: number): void {
  if (hasFlag('--trace-uncaught') || hasFlag('--report-uncaught-exception') || hasFlag('--abort-on-uncaught-exception')) return;
  if (err !== null && typeof err === 'object' && enhancedBeforeInspector(err)) return;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if ((require('node:inspector') as typeof import('node:inspector')).url() !== undefined) return;
  } catch {
    return;
  }
  const text = script.sourceLines[line];
  if (text === undefined) return;
  const arrow = `${script.resource}:${line + 1}\n${text}\n${underline(text, column)}`;
  let out: string;
  if (isNativeError(err)) {
    let trace: string;
    try {
      trace = inspectLikeNode(err);
    } catch {
      const stack = (err as Error).stack;
      if (typeof stack !== 'string') return;
      trace = stack;
    }
    if (trace.length === 0) return;
    out = `${arrow}\n${trace}\n`;
  } else if (err !== null && (typeof err === 'object' || typeof err === 'function')) {
    // Not a native error: Node prints the source line at once, then the value.
    out = `\n${arrow}${inspectLikeNode(err)}\n`;
  } else {
    const argv0 = path.basename(process.argv[0] || 'node', '.exe') || 'node';
    out = `\n${arrow}${String(err)}\n(Use \`${argv0} --trace-uncaught ...\` to show where the exception was thrown)\n`;
  }
  if (!hasFlag('--no-extra-info-on-fatal-exception')) out += `\nNode.js ${process.version}\n`;
  try {
    fs.writeSync(2, out);
  } catch {
    // stderr closed: Node would print nothing either
  }
  const code = process.exitCode;
  (process as unknown as { reallyExit(code: number): never }).reallyExit(typeof code === 'number' ? code : Number(code ?? 1) || 1);
}

/** fatalExceptionStackEnhancers.afterInspector (lib/internal/errors.js). */
function inspectLikeNode(err: unknown): string {
  return util.inspect(err, {
    colors: shouldColorize(process.stderr) || util.inspect.defaultOptions.colors === true,
    customInspect: false,
    depth: Math.max(util.inspect.defaultOptions.depth ?? 2, 5),
  });
}

/** The caret line as node_errors.cc writes it: one character per byte of
 * the UTF-8 line before the column (a tab stays a tab), then `^`; no line
 * when the column is past the line's end. Ends with a newline. */
function underline(text: string, column: number): string {
  const bytes = BufferFrom(text, 'utf8');
  if (column < 0 || column + 1 > TypedArrayPrototypeGetLength(bytes)) return '';
  let s = '';
  for (let i = 0; i < column && i < 1020; i++) {
    if (bytes[i] === 0) break;
    s += bytes[i] === 9 ? '\t' : ' ';
  }
  if (bytes[column] !== 0) s += '^';
  return `${s}\n`;
}

/** internal/util/colors shouldColorize. */
function shouldColorize(stream: NodeJS.WriteStream): boolean {
  if (process.env.FORCE_COLOR !== undefined) {
    return ReflectApply(tty.WriteStream.prototype.getColorDepth as () => number, undefined, []) > 2;
  }
  return stream?.isTTY === true && (typeof stream.getColorDepth === 'function' ? stream.getColorDepth() > 2 : true);
}

/** Node's own errors that rewrite their stack before the report. */
function enhancedBeforeInspector(err: object): boolean {
  for (let o: object | null = err; o !== null; o = ObjectGetPrototypeOf(o) as object | null) {
    const syms = ObjectGetOwnPropertySymbols(o);
    for (let i = 0; i < syms.length; i++) if (ReflectApply(SymbolPrototypeGetDescription, syms[i], []) === 'kEnhanceStackBeforeInspector') return true;
  }
  return false;
}
