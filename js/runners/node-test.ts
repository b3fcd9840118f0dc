// node:test tests as spans (issue 13, design-docs/runners.md *Test spans*).
//
// Node 20 and 22 publish no in-process event of a test's start and end (the
// `tracing:node.test:*` channels come with Node 26), and the module's API
// cannot be wrapped for every program: `import test from 'node:test'` and
// `require('node:test')` give the module object itself, which is the `test`
// function, and a builtin's default export cannot be replaced. So noderec
// goes one level down, to the class every test is an instance of:
//
// - node:test's tests are AsyncResources of type 'Test'. Once a process is
//   known to use node:test (a `node --test` child, or a module whose source
//   names 'node:test': see js/hooks/), an async_hooks `init` hook waits for
//   the first one (the root test, created by the first `test()` call before
//   its first subtest), finds the class's prototype (the one that owns
//   `getRunArgs` and `addReadySubtest`), wraps those two methods and is
//   disabled again.
// - `getRunArgs()` is the first thing a test's `run()` calls (before the
//   before/beforeEach hooks and the test's function): a test (an instance of
//   exactly that class, not a suite, a hook or a file of the `--test`
//   orchestrator) starts its span there, once.
// - `parent.addReadySubtest(test)` is called by the test's `postRun()` once
//   its result is final (its subtests have ended and a failed subtest has
//   failed it): the span ends there, with status skip, todo, pass or fail
//   (in that order, as node:test counts a test) and the error's message.
//   A test cancelled before it ran gets a span started and ended there.
//
// Neither wrapper calls anything of the program or stays on the stack while
// the program's code runs, so stack traces stay as they were; the API the
// program sees (`test`, `describe`, `t.test`, their names, lengths, source
// text and properties) is untouched. The name is the describe path and the
// test's name joined by ' > ' (node:test's `fullName`); `file` is the file
// the test was declared in, relative to the project root. Nothing here may
// throw into node:test: a failure loses spans, never a test.
import { createHook, type AsyncHook } from 'node:async_hooks';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { endSpan, startSpan, type Span } from '../runs';
import { reTest, StringPrototypeIncludes } from '../runtime/primordials';

interface NodeTest {
  name?: unknown;
  parent?: NodeTest | null;
  loc?: { file?: unknown };
  skipped?: unknown;
  isTodo?: unknown;
  passed?: unknown;
  filtered?: unknown;
  error?: { message?: unknown; cause?: unknown } | null;
}

let hook: AsyncHook | null = null;
let patched = false;

/** True for the source of a module that loads node:test (`require`, `import`, `import()`). */
export function usesNodeTest(source: string): boolean {
  // Per `require` and import: captured built-ins only (decision 54).
  return StringPrototypeIncludes(source, 'node:test') && reTest(/['"`]node:test['"`]/, source);
}

/** True in a child process of `node --test`, or its orchestrator. */
export function isNodeTestProcess(): boolean {
  const ctx = process.env.NODE_TEST_CONTEXT;
  return (typeof ctx === 'string' && ctx !== '') || process.execArgv.includes('--test');
}

/** Watches for node:test's first test (once per thread; cheap to call again). */
export function watchNodeTest(): void {
  if (patched || hook !== null) return;
  try {
    const h = createHook({
      init(_id: number, type: string, _trigger: number, resource: object): void {
        if (type !== 'Test' || patched) return;
        // Once, whatever the outcome: a node:test without the methods
        // (another version) gets no spans and no lasting hook.
        patched = true;
        hook = null;
        try {
          h.disable();
          patchTestClass(resource);
        } catch {
          // no spans
        }
      },
    });
    hook = h;
    h.enable();
  } catch {
    hook = null;
  }
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Wraps getRunArgs and addReadySubtest of the class `resource` is an instance of. */
function patchTestClass(resource: object): boolean {
  let proto: Record<string, unknown> | null = Object.getPrototypeOf(resource) as Record<string, unknown> | null;
  while (proto !== null && !(Object.hasOwn(proto, 'getRunArgs') && Object.hasOwn(proto, 'addReadySubtest') && Object.hasOwn(proto, 'createSubtest'))) {
    proto = Object.getPrototypeOf(proto) as Record<string, unknown> | null;
  }
  if (proto === null) return false;
  const getRunArgs = proto.getRunArgs;
  const addReadySubtest = proto.addReadySubtest;
  if (typeof getRunArgs !== 'function' || typeof addReadySubtest !== 'function') return false;
  const testProto = proto;
  const open = new WeakMap<object, Span>();
  const done = new WeakSet<object>();
  const isTest = (t: unknown): t is NodeTest => typeof t === 'object' && t !== null && Object.getPrototypeOf(t) === testProto && (t as NodeTest).parent != null;
  const started = (t: NodeTest): void => {
    if (open.has(t) || done.has(t) || t.filtered === true) return;
    open.set(t, startSpan(fullName(t), { runner: 'node:test', file: fileOf(t) }));
  };
  const ended = (t: NodeTest): void => {
    if (done.has(t) || t.filtered === true) return;
    done.add(t);
    let s = open.get(t);
    open.delete(t);
    // Cancelled before it ran.
    s ??= startSpan(fullName(t), { runner: 'node:test', file: fileOf(t) });
    const status = t.skipped === true ? 'skip' : t.isTodo === true ? 'todo' : t.passed === true ? 'pass' : 'fail';
    if (status === 'fail') endSpan(s, true, { status, error: errorMessage(t.error) });
    else endSpan(s, false, { status });
  };
  proto.getRunArgs = {
    getRunArgs(this: unknown): unknown {
      try {
        if (isTest(this)) started(this);
      } catch {
        // a span lost, the test unchanged
      }
      return Reflect.apply(getRunArgs as Method, this, arguments);
    },
  }.getRunArgs;
  proto.addReadySubtest = {
    addReadySubtest(this: unknown, subtest: unknown): unknown {
      try {
        if (isTest(subtest)) ended(subtest);
      } catch {
        // a span lost, the test unchanged
      }
      return Reflect.apply(addReadySubtest as Method, this, arguments);
    },
  }.addReadySubtest;
  return true;
}

/** node:test's fullName: the names from the outermost suite down, joined by ' > ' (the root left out). */
function fullName(t: NodeTest): string {
  const names: string[] = [];
  for (let x: NodeTest | null | undefined = t; x != null && x.parent != null; x = x.parent) names.unshift(String(x.name));
  return names.join(' > ');
}

function errorMessage(e: NodeTest['error']): string {
  // node:test wraps what the test threw (or its hook's failure) as `cause`.
  const c = e?.cause;
  if (typeof c === 'object' && c !== null && typeof (c as { message?: unknown }).message === 'string') return (c as { message: string }).message;
  if (c !== undefined && c !== null) return String(c);
  return typeof e?.message === 'string' ? e.message : String(e);
}

let root: string | null = null;

/** The project root (the directory of the nearest package.json or .noderec above the entry script, or the working directory). */
function projectRoot(): string {
  if (root !== null) return root;
  const entry = process.argv[1];
  const start = typeof entry === 'string' && entry !== '' && !entry.includes(`${path.sep}node_modules${path.sep}`) ? path.dirname(path.resolve(entry)) : process.cwd();
  root = start;
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, '.noderec')) || fs.existsSync(path.join(dir, 'package.json'))) {
      root = dir;
      break;
    }
    if (path.dirname(dir) === dir) break;
  }
  return root;
}

function fileOf(t: NodeTest): string {
  const loc = t.loc?.file;
  if (typeof loc !== 'string' || loc === '') return '';
  const f = loc.startsWith('file:') ? fileURLToPath(loc) : loc;
  return path.relative(projectRoot(), f).split(path.sep).join('/');
}
