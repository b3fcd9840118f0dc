// Test names as spans (issue 13, design-docs/runners.md *Test spans*): in a
// jest or vitest process the integration (integrate.ts) turns each test into
// a span, with no code or config in the project (node:test: node-test.ts).
//
// - jest (circus): the test framework function jest-runner loads (through
//   ScriptTransformer.requireAndTranspileModule) is wrapped; before it runs,
//   the test environment gets a `handleTestEvent` (chained to its own, if it
//   has one), which jest-circus subscribes to its events: `test_start` starts
//   the span, `test_done` / `test_skip` / `test_todo` end it.
// - jest (jasmine2): the jest-jasmine2 framework function is wrapped the
//   same way; the jasmine it puts on the environment's global gets a
//   reporter: `specStarted` starts the span, `specDone` ends it.
// - vitest (2, 3): its runner keeps the task running now in the worker
//   state (`__vitest_worker__.current`); that property becomes an accessor,
//   so a test becoming current starts its span, and the first change of
//   `current` after its result is final (pass, fail, skip) ends it. Tests
//   that never run (skip, todo) get a span when their suite starts.
//
// A span's name is the test's full name with its describe path (jest:
// joined by ' ', as jest's fullName; vitest: by ' > ', as vitest prints
// it); its attributes are `runner`, `file` (relative to the project root)
// and, at its end, `status` (pass, fail, skip, todo) and, for a failure,
// `error` (the first error's message). Nothing here may throw into the
// runner.
import * as path from 'node:path';

import { endSpan, startSpan, type Span } from '../runs';

function errorMessage(e: unknown): string {
  if (Array.isArray(e)) e = e[0];
  if (typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string') return (e as { message: string }).message;
  return String(e);
}

function relFile(root: unknown, file: unknown): string {
  if (typeof file !== 'string') return '';
  const rel = typeof root === 'string' && root !== '' ? path.relative(root, file) : file;
  return rel.split(path.sep).join('/');
}

// ---------------------------------------------------------------- jest

interface CircusBlock {
  name?: unknown;
  parent?: CircusBlock;
}
interface CircusTest extends CircusBlock {
  errors?: unknown[];
}
interface CircusEvent {
  name?: unknown;
  test?: CircusTest;
}

/** jest's test id: the describe path and the test's name, joined by ' ' (the root block left out). */
function jestName(t: CircusTest): string {
  const names: string[] = [];
  for (let b: CircusBlock | undefined = t; b !== undefined && b.parent !== undefined; b = b.parent) names.unshift(String(b.name));
  // A test's parent is always a block; the loop stops at the root block.
  return names.join(' ');
}

const wrappedFrameworks = new WeakMap<Function, Function>();

/** The jest-circus test framework function, wrapped so its environment reports test events. */
export function wrapJestFramework(fn: unknown): unknown {
  if (typeof fn !== 'function') return fn;
  const known = wrappedFrameworks.get(fn);
  if (known !== undefined) return known;
  const wrapped = function jestAdapter(this: unknown, globalConfig: unknown, config: { rootDir?: unknown } | undefined, environment: unknown, ...rest: unknown[]): unknown {
    try {
      const testPath = rest[1];
      if (typeof environment === 'object' && environment !== null) addTestEvents(environment as Record<string, unknown>, relFile(config?.rootDir, testPath));
    } catch {
      // no spans for this file
    }
    return (fn as (...a: unknown[]) => unknown).call(this, globalConfig, config, environment, ...rest);
  };
  wrappedFrameworks.set(fn, wrapped);
  wrappedFrameworks.set(wrapped, wrapped);
  return wrapped;
}

function addTestEvents(env: Record<string, unknown>, file: string): void {
  const own = env.handleTestEvent;
  const open = new WeakMap<object, Span>();
  const onEvent = (event: CircusEvent): void => {
    const t = event?.test;
    if (t === undefined || t === null || typeof t !== 'object') return;
    switch (event.name) {
      case 'test_start':
        open.set(t, startSpan(jestName(t), { runner: 'jest', file }));
        return;
      case 'test_skip':
      case 'test_todo':
      case 'test_done': {
        const s = open.get(t);
        if (s === undefined) return;
        open.delete(t);
        const errors = Array.isArray(t.errors) ? t.errors : [];
        if (event.name === 'test_done' && errors.length > 0) endSpan(s, true, { status: 'fail', error: errorMessage(errors[0]) });
        else endSpan(s, false, { status: event.name === 'test_skip' ? 'skip' : event.name === 'test_todo' ? 'todo' : 'pass' });
        return;
      }
      default:
    }
  };
  env.handleTestEvent = function handleTestEvent(this: unknown, event: CircusEvent, state: unknown): unknown {
    try {
      onEvent(event);
    } catch {
      // a span lost, the test unchanged
    }
    return typeof own === 'function' ? (own as (e: unknown, s: unknown) => unknown).call(this, event, state) : undefined;
  };
}

// ---------------------------------------------------------------- jest-jasmine2

interface JasmineResult {
  id?: unknown;
  fullName?: unknown;
  status?: unknown;
  failedExpectations?: { message?: unknown }[];
}

/** The jest-jasmine2 test framework function, wrapped so its jasmine reports spec events. */
export function wrapJasmineFramework(fn: unknown): unknown {
  if (typeof fn !== 'function') return fn;
  const known = wrappedFrameworks.get(fn);
  if (known !== undefined) return known;
  const wrapped = function jasmine2(this: unknown, globalConfig: unknown, config: { rootDir?: unknown } | undefined, environment: unknown, ...rest: unknown[]): unknown {
    try {
      const global = (environment as { global?: unknown } | null)?.global;
      if (typeof global === 'object' && global !== null) onJasmine(global as Record<string, unknown>, relFile(config?.rootDir, rest[1]));
    } catch {
      // no spans for this file
    }
    return (fn as (...a: unknown[]) => unknown).call(this, globalConfig, config, environment, ...rest);
  };
  wrappedFrameworks.set(fn, wrapped);
  wrappedFrameworks.set(wrapped, wrapped);
  return wrapped;
}

/** jest-jasmine2 puts its jasmine on the environment's global
 * (`Object.assign(environment.global, jasmineInterface)`) before the test
 * file runs: `jasmine` is an accessor until then, and a plain property
 * again from the assignment on, whose env gets a reporter of ours. */
function onJasmine(global: Record<string, unknown>, file: string): void {
  if (Object.getOwnPropertyDescriptor(global, 'jasmine') !== undefined) return;
  Object.defineProperty(global, 'jasmine', {
    configurable: true,
    enumerable: false,
    get: () => undefined,
    set(v: unknown) {
      Object.defineProperty(global, 'jasmine', { configurable: true, enumerable: true, writable: true, value: v });
      try {
        const env = (v as { getEnv?: () => { addReporter?: (r: object) => void } }).getEnv?.();
        env?.addReporter?.(jasmineReporter(file));
      } catch {
        // no spans for this file
      }
    },
  });
}

function jasmineReporter(file: string): object {
  const open = new Map<unknown, Span>();
  const name = (r: JasmineResult): string => String(r.fullName);
  return {
    specStarted(r: JasmineResult): void {
      try {
        open.set(r.id, startSpan(name(r), { runner: 'jest', file }));
      } catch {
        // a span lost
      }
    },
    specDone(r: JasmineResult): void {
      try {
        const s = open.get(r.id) ?? startSpan(name(r), { runner: 'jest', file });
        open.delete(r.id);
        const failed = Array.isArray(r.failedExpectations) ? r.failedExpectations : [];
        if (r.status === 'failed') endSpan(s, true, failed.length > 0 ? { status: 'fail', error: errorMessage(failed[0]) } : { status: 'fail' });
        else endSpan(s, false, { status: r.status === 'todo' ? 'todo' : r.status === 'passed' ? 'pass' : 'skip' });
      } catch {
        // a span lost
      }
    },
  };
}

// ---------------------------------------------------------------- vitest

interface VitestTask {
  type?: unknown;
  name?: unknown;
  mode?: unknown;
  suite?: VitestTask;
  file?: VitestTask;
  tasks?: VitestTask[];
  result?: { state?: unknown; errors?: unknown[] };
}

const watched = new WeakSet<object>();

/** vitest's full test name: the describe path and the test's name, joined by ' > '. */
function vitestName(t: VitestTask): string {
  const names: string[] = [];
  for (let x: VitestTask | undefined = t; x !== undefined && x !== null && x !== t.file; x = x.suite) names.unshift(String(x.name));
  return names.join(' > ');
}

const isTest = (t: unknown): t is VitestTask => typeof t === 'object' && t !== null && (t as VitestTask).type === 'test';
const isSuite = (t: unknown): t is VitestTask => typeof t === 'object' && t !== null && (t as VitestTask).type === 'suite';

/** Makes `state.current` (vitest's worker state) an accessor that turns tests into spans. */
export function watchVitestState(state: unknown): void {
  if (typeof state !== 'object' || state === null || watched.has(state)) return;
  watched.add(state);
  const d = Object.getOwnPropertyDescriptor(state, 'current');
  if (d !== undefined && (!d.configurable || !('value' in d))) return;
  let cur: unknown = d?.value;
  const open = new WeakMap<object, Span>();
  const entered = new WeakSet<object>();
  const attrs = (t: VitestTask): Record<string, unknown> => ({ runner: 'vitest', file: typeof t.file?.name === 'string' ? t.file.name : '' });
  const notRun = (s: VitestTask, all: boolean): void => {
    for (const t of Array.isArray(s.tasks) ? s.tasks : []) {
      if (isTest(t) && (all || t.mode === 'skip' || t.mode === 'todo')) {
        endSpan(startSpan(vitestName(t), attrs(t)), false, { status: t.mode === 'todo' ? 'todo' : 'skip' });
      } else if (isSuite(t) && (all || t.mode === 'skip' || t.mode === 'todo')) notRun(t, true);
    }
  };
  // Tests whose span is open. Concurrent tests (describe.concurrent) make
  // `current` jump between tests still running, so a span ends when its
  // test's result is final (set before onAfterRunTask moves `current`
  // away), not when another test becomes current.
  const running = new Set<VitestTask>();
  const started = new WeakSet<object>();
  const transition = (_prev: unknown, next: unknown): void => {
    for (const t of running) {
      const r = t.result;
      if (r?.state !== 'pass' && r?.state !== 'fail' && r?.state !== 'skip') continue;
      running.delete(t);
      const s = open.get(t);
      if (s === undefined) continue;
      open.delete(t);
      const errors = Array.isArray(r.errors) ? r.errors : [];
      if (r.state === 'fail') endSpan(s, true, errors.length > 0 ? { status: 'fail', error: errorMessage(errors[0]) } : { status: 'fail' });
      else endSpan(s, false, { status: r.state });
    }
    if (isTest(next) && !started.has(next)) {
      started.add(next);
      running.add(next);
      open.set(next, startSpan(vitestName(next), attrs(next)));
    } else if (isSuite(next) && !entered.has(next)) {
      entered.add(next);
      notRun(next, false);
    }
  };
  try {
    Object.defineProperty(state, 'current', {
      configurable: true,
      enumerable: d?.enumerable ?? true,
      get: () => cur,
      set: (v: unknown) => {
        const prev = cur;
        cur = v;
        try {
          transition(prev, v);
        } catch {
          // a span lost, the test unchanged
        }
      },
    });
  } catch {
    // a frozen state: no spans
  }
}
