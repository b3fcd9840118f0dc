// --scope project (the default) / all (issue 15): the project's own code in
// full, node_modules only at the boundary; filters still decide; the project
// root of a bin that lives in node_modules is the project around the
// working directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { assertBalanced, Event, events, fixture, NODE22, onlyTrace, ROOT, runCli, runNode, tempDir, traceDirs } from '../helpers/run';

const APP = fixture('scope', 'app.js');
const OUTPUT = 'total 15\nvalid true negative price: -1\nstock 6\n';

function calls(evs: Event[]): string[] {
  return [...new Set(evs.filter((e) => e.kind === 'call').map((e) => `${e.path} ${e.fn}`))].sort();
}

const PROJECT = ['app.js <module>', 'app.js add', 'app.js main', 'app.js safeValidate', 'app.js total'];
const BOUNDARY = [
  'node_modules/shoplib/index.js <module>',
  'node_modules/shoplib/index.js fetchStock',
  'node_modules/shoplib/index.js forEachItem',
  'node_modules/shoplib/index.js priceOf',
  'node_modules/shoplib/index.js validate',
];
const INTERNAL = ['node_modules/shoplib/index.js check', 'node_modules/shoplib/index.js round', 'node_modules/shoplib/index.js taxOf'];

describe('--scope', () => {
  for (const [name, node] of [['Node 20', undefined], ['Node 22', NODE22]] as const) {
    it(`project (the default): the project's functions, and packages only where the project calls them (${name})`, () => {
      const r = runNode(APP, { node });
      expect(r.stdout).toBe(OUTPUT);
      expect(r.code).toBe(0);
      const evs = events(onlyTrace(r.outDir));
      assertBalanced(evs);
      expect(calls(evs)).toEqual([...PROJECT, ...BOUNDARY].sort());
      // Calls at the boundary keep their values, returns and throws.
      const price = evs.find((e) => e.kind === 'call' && e.fn === 'priceOf');
      expect(price?.args).toEqual([{ $: 'object', class: 'Object', props: { net: 10 } }]);
      expect(evs.find((e) => e.kind === 'return' && e.activation === price?.activation)?.value).toBe(12);
      const validate = evs.filter((e) => e.kind === 'call' && e.fn === 'validate');
      expect(validate).toHaveLength(2);
      expect(evs.find((e) => e.kind === 'throw' && e.activation === validate[1].activation)).toBeDefined();
      const stock = evs.find((e) => e.kind === 'call' && e.fn === 'fetchStock');
      expect(evs.filter((e) => e.activation === stock?.activation).map((e) => e.kind)).toEqual(['call', 'await', 'resume', 'return']);
      // The project's callback, called by the package, is recorded, and so is
      // its own call into the package.
      const add = evs.filter((e) => e.kind === 'call' && e.fn === 'add');
      expect(add).toHaveLength(2);
      expect(evs.filter((e) => e.kind === 'call' && e.fn === 'priceOf')).toHaveLength(2);
    });
  }

  it('all: every function of every package (NODEREC_SCOPE=all and --scope all)', () => {
    const r = runNode(APP, { env: { NODEREC_SCOPE: 'all' } });
    expect(r.stdout).toBe(OUTPUT);
    const evs = events(onlyTrace(r.outDir));
    assertBalanced(evs);
    expect(calls(evs)).toEqual([...PROJECT, ...BOUNDARY, ...INTERNAL].sort());
    const outDir = tempDir();
    const c = runCli(['record', '--scope', 'all', APP], { env: { NODEREC_OUT_DIR: outDir } });
    expect(c.code).toBe(0);
    expect(calls(events(onlyTrace(outDir)))).toEqual([...PROJECT, ...BOUNDARY, ...INTERNAL].sort());
  });

  it('a filter that traces a package records it in full under project scope', () => {
    const r = runNode(APP, { env: { NODEREC_TRACE_FILTER: fixture('scope', 'filter-trace-shoplib.toml') } });
    expect(r.stdout).toBe(OUTPUT);
    expect(calls(events(onlyTrace(r.outDir)))).toEqual([...PROJECT, ...BOUNDARY, ...INTERNAL].sort());
  });

  it('a bad scope is ERR_INVALID_POLICY_VALUE naming the variable and what is accepted', () => {
    const r = runNode(APP, { env: { NODEREC_SCOPE: 'mine' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_INVALID_POLICY_VALUE');
    expect(r.stderr).toContain('NODEREC_SCOPE');
    expect(r.stderr).toContain('one of project | all');
  });

  it('the project root of a bin in a node_modules outside the project is the project around the working directory', () => {
    // As `npx some-runner` from npx's cache: the bin requires the project's file.
    const cache = tempDir();
    const bin = path.join(cache, 'node_modules', 'runner', 'bin.js');
    fs.mkdirSync(path.dirname(bin), { recursive: true });
    fs.writeFileSync(bin, "require(require('node:path').resolve(process.cwd(), 'app.js'));\n");
    const r = runNode(bin, { cwd: path.dirname(APP) });
    expect(r.stdout).toBe(OUTPUT);
    const dir = onlyTrace(r.outDir);
    expect(calls(events(dir))).toEqual(expect.arrayContaining(PROJECT));
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8')).root).toBe(path.dirname(APP));
  });
});

describe('--scope project across the API stop() and start()', () => {
  it('a package loaded in the first recording is recorded at its boundary in the second too (review52)', () => {
    const outDir = tempDir();
    const r = runNode(fixture('scope', 'restart.js'), {
      preload: 'none',
      outDir,
      env: { NODEREC_INDEX: path.join(ROOT, 'js', 'dist', 'index.js'), NODEREC_OUT_DIR: outDir },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const dirs = traceDirs(outDir);
    expect(dirs).toHaveLength(2);
    const got = dirs.map((d) => calls(events(d)).filter((c) => c.includes('shoplib') && !c.endsWith('<module>')));
    // Both recordings: the boundary functions the project called, none of the package's own internals.
    for (const g of got) expect(g).toEqual(['node_modules/shoplib/index.js forEachItem', 'node_modules/shoplib/index.js priceOf']);
  });
});

describe('--scope project: a package catches what a callback of the project throws', () => {
  // The package's functions that only it calls by name (runLater, run,
  // callFn, skipInner) get no probes at all (instrument/internal.rs), in
  // sloppy (cblib) and strict code (cblib-strict): the events must be the
  // ones they were with the probes.
  for (const lib of ['cblib', 'cblib-strict']) {
    it(`records the throw when the package catches it, so later calls are not children of the callback (${lib})`, () => {
      const r = runNode(fixture('scope-catch', 'app.js'), { env: { CBLIB: lib } });
      expect(r.stdout).toBe('caught boom 2\n');
      expect(r.code).toBe(0);
      const evs = events(onlyTrace(r.outDir)).filter((e) => e.kind !== 'output');
      assertBalanced(evs);
      const seq = evs.filter((e) => e.path === 'app.js' && e.fn !== '<module>').map((e) => `${e.kind} ${e.fn} ${e.depth}`);
      expect(seq).toEqual([
        'call thrower 0',
        'throw thrower 0',
        'call done 0',
        'call after 1',
        'return after 1',
        'return done 0',
        'call tick 0',
        'call after 1',
        'return after 1',
        'return tick 0',
      ]);
    });

    it(`and when it leaves the project through a package frame with no catch first (mocha \`this.skip()\`) (${lib})`, () => {
      const r = runNode(fixture('scope-catch', 'app2.js'), { env: { CBLIB: lib } });
      expect(r.stdout).toBe('caught skipped 2\n');
      expect(r.code).toBe(0);
      const evs = events(onlyTrace(r.outDir)).filter((e) => e.kind !== 'output');
      assertBalanced(evs);
      const seq = evs.filter((e) => e.fn !== '<module>').map((e) => `${e.kind} ${e.fn} ${e.depth}`);
      expect(seq).toEqual([
        'call later2 1',
        'return later2 1',
        'call test 0',
        'call skip 1',
        'throw skip 1',
        'throw test 0',
        'call done 0',
        'call after 1',
        'return after 1',
        'return done 0',
      ]);
    });
  }

  it('a package generator resumed by the project: the calls its body makes are recorded as calls from the project', () => {
    const r = runNode(fixture('scope-catch', 'app3.js'));
    expect(r.stdout).toBe('6\n');
    expect(r.code).toBe(0);
    const evs = events(onlyTrace(r.outDir)).filter((e) => e.kind !== 'output');
    assertBalanced(evs);
    const seq = evs.filter((e) => e.fn !== '<module>').map((e) => `${e.kind} ${e.fn} ${e.depth}`);
    // `<module>` is at depth 0.
    expect(seq).toEqual(['call consume 1', 'call make 2', 'return make 2', 'call double 2', 'return double 2', 'call double 2', 'return double 2', 'return consume 1']);
  });

  it("a strict package's functions that only the package calls by name get no probes; the others keep theirs; scope all instruments them all (one cache for both)", () => {
    const cache = tempDir();
    const seen = new Set<string>();
    for (const [scope, probed] of [['project', false], ['all', true]] as const) {
      const r = runNode(fixture('scope-catch', 'app2.js'), { env: { CBLIB: 'cblib-strict', NODEREC_SCOPE: scope, NODEREC_CACHE_DIR: cache } });
      expect(r.stdout).toBe('caught skipped 2\n');
      // The package's entry this run added: the scopes do not share one.
      const entries = (fs.readdirSync(cache, { recursive: true }) as string[])
        .map((f) => path.join(cache, f))
        .filter((f) => fs.statSync(f).isFile() && !seen.has(f))
        .map((f) => (seen.add(f), fs.readFileSync(f, 'utf8')))
        .filter((t) => t.includes('skipInner'));
      expect(entries, scope).toHaveLength(1);
      const code = JSON.parse(entries[0]).code as string;
      for (const fn of ['runLater(fn, done) {', 'skipInner() {', 'callFn(fn) {', 'run(fn, done) {']) {
        expect(code.includes(`${fn};const $nr$a=`), `${scope} ${fn}`).toBe(probed);
      }
      for (const fn of ['later(fn, done) {', 'skip() {', 'later2(fn, done) {']) expect(code.includes(`${fn};const $nr$a=`), `${scope} ${fn}`).toBe(true);
    }
  });
});


describe('--scope project: a package ES module that the project require()s (require(esm))', () => {
  // Node 20 (20.19+) loads it without the module hooks; its call of another
  // package's CommonJS function is recorded as a call from the project
  // (yargs 18's string-width calling emoji-regex: decisions.md 59, a
  // documented gap on Node 20 only).
  for (const [name, node] of [['Node 20', undefined], ['Node 22', NODE22]] as const) {
    it(`only the project's call into the package is recorded, not the package's calls of another package (${name})`, () => {
      const app = fixture('scope-require-esm', 'app.js');
      const plain = runNode(app, { node, preload: 'none' });
      const r = runNode(app, { node });
      expect(r.stdout).toBe(plain.stdout);
      expect(r.stderr).toBe(plain.stderr);
      expect(r.code).toBe(0);
      const evs = events(onlyTrace(r.outDir));
      assertBalanced(evs);
      const called = evs.filter((e) => e.kind === 'call').map((e) => `${e.path.replace(/^.*node_modules\//, '')} ${e.fn}`);
      if (node === undefined) {
        // Node 20: the require(esm) module runs unrecorded, its calls of
        // emojilib's isWide are recorded as the project's (README, Known
        // differences; decisions.md 59, review59: the \`_compile\` recording
        // was reverted).
        expect(called.sort()).toEqual(['app.js <module>', 'app.js measure', 'emojilib/index.js <module>', 'emojilib/index.js isWide', 'emojilib/index.js isWide', 'emojilib/index.js isWide', 'emojilib/index.js isWide', 'emojilib/index.js isWide']);
        return;
      }
      // Each package's module entry, as for any package the program loads.
      expect(called.sort()).toEqual(['app.js <module>', 'app.js measure', 'emojilib/index.js <module>', 'widthlib/index.js <module>', 'widthlib/index.js width', 'widthlib/index.js width']);
    });
  }
});
