// The contract between Rust and TypeScript: the committed declarations
// (js/native/binding.d.ts, imported by js/native.ts and the modules that call
// the addon) are what the build generates from the Rust binding, and name
// exactly what the addon exports. Errors cross the boundary as data: `code`,
// `path`, `line`, `column` set by the binding.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
const COMMITTED = path.join(ROOT, 'js', 'native', 'binding.d.ts');
const GENERATED = path.join(ROOT, 'js', 'native', 'binding.generated.d.ts');

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { native } = require('../../js/dist/native.js') as typeof import('../../js/native');

function declared(text: string): string[] {
  return [...text.matchAll(/^export declare (?:function|class|const enum|enum|const) (\w+)/gm)].map((m) => m[1]).sort();
}

function caught(f: () => unknown): Record<string, unknown> {
  try {
    f();
  } catch (e) {
    return e as Record<string, unknown>;
  }
  throw new Error('expected a throw');
}

describe('the binding contract', () => {
  it('the committed binding.d.ts is what `npm run build:native` generates', () => {
    expect(fs.existsSync(GENERATED), `${GENERATED} is missing: run npm run build:native`).toBe(true);
    const generated = fs.readFileSync(GENERATED, 'utf8');
    const committed = fs.readFileSync(COMMITTED, 'utf8');
    // On a difference: `npm run binding:update`, then commit js/native/binding.d.ts.
    expect(committed).toBe(generated);
  });

  it('declares exactly what the addon exports', () => {
    const exported = Object.keys(native()).sort();
    expect(declared(fs.readFileSync(COMMITTED, 'utf8'))).toEqual(exported);
  });
});

describe('errors as data', () => {
  it('a bad filter file: code, path, line and column set by the binding', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-contract-'));
    const file = path.join(dir, 'bad.toml');
    fs.writeFileSync(file, '[meta]\nname = "t"\nversion = 1\n\n[[rule]]\nmatch = { fn = "x" }\n');
    const e = caught(() => native().filterCheck([file]));
    expect(e.code).toBe('ERR_FILTER_SCHEMA');
    expect(e.path).toBe(file);
    // `[[rule]]`: an unknown table, line 5, column 3.
    expect(e.line).toBe(5);
    expect(e.column).toBe(3);
    // The message is the core's text, without a code prefix.
    expect(e.message).toBe(`${file}:5:3: unknown key \`rule\` at the top level; accepted: meta, scope, io, secrets`);
    expect(String(e.message)).not.toMatch(/^ERR_/);
  });

  it('a missing trace: ERR_TRACE_MISSING with the path', () => {
    const dir = path.join(os.tmpdir(), `noderec-contract-none-${process.pid}`);
    const e = caught(() => native().traceSummary(dir));
    expect(e.code).toBe('ERR_TRACE_MISSING');
    expect(e.path).toBe(dir);
    expect(e.line).toBeUndefined();
    expect(e instanceof Error).toBe(true);
  });

  it('an async export that fails rejects with the code', async () => {
    const dir = path.join(os.tmpdir(), `noderec-contract-none-${process.pid}`);
    const e = (await native()
      .exportTraceAsync(1, dir, 'jsonl', path.join(os.tmpdir(), `noderec-contract-${process.pid}.jsonl`), {})
      .then(
        () => {
          throw new Error('expected a rejection');
        },
        (err: unknown) => err,
      )) as Record<string, unknown>;
    expect(typeof e.code).toBe('string');
    expect(String(e.code)).toMatch(/^ERR_[A-Z_]+$/);
    expect(String(e.message)).not.toMatch(/^ERR_/);
  });

  it('an unknown export format: ERR_INVALID_ARG', () => {
    const e = caught(() => native().exportTraceSync(os.tmpdir(), 'nope', null, {}));
    expect(e.code).toBe('ERR_INVALID_ARG');
    expect(String(e.message)).toContain("unknown export format 'nope'");
  });
});
