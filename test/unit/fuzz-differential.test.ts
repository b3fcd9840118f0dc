// The differential half of the glob and regex fuzz targets: every input the
// fuzzers keep (fuzz/corpus/glob, fuzz/corpus/jsregex: `pattern \0 input`)
// is matched by the Rust engines and by picomatch / JavaScript's RegExp.
// Where the Rust engine accepts a pattern, both must agree.
import * as fs from 'node:fs';
import * as path from 'node:path';
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require('../../js/dist/native.js').native() as {
  globMatch(p: string, s: string): boolean;
  regexMatch(p: string, s: string): boolean | null;
};

const CORPUS = path.join(__dirname, '..', '..', 'fuzz', 'corpus');

function cases(target: string): [string, string][] {
  const out: [string, string][] = [];
  for (const dir of [path.join(CORPUS, target), path.join(CORPUS, '..', 'artifacts', target)]) {
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) {
      const b = fs.readFileSync(path.join(dir, f));
      const text = new TextDecoder('utf-8', { fatal: false }).decode(b);
      if (Buffer.from(text, 'utf8').compare(b) !== 0) continue; // not UTF-8: the targets skip it
      const i = text.indexOf('\0');
      out.push(i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)]);
    }
  }
  return out;
}

describe('fuzz corpus, differential', () => {
  it('globs: where the Rust engine accepts a pattern, it matches as picomatch does', () => {
    const all = cases('glob');
    expect(all.length).toBeGreaterThan(50);
    const diff: string[] = [];
    for (const [p, s] of all) {
      // picomatch never returns when a run of backslashes reaches the end
      // of a pattern it does not take by its fast path (`(\\\\`): the
      // Rust engine stops there (see glob.rs `eos`); nothing to compare.
      if (/\\{3,}$/.test(p)) continue;
      let ours: boolean;
      try {
        ours = native.globMatch(p, s);
      } catch {
        continue; // refused (picomatch throws too, or the expression is invalid)
      }
      let theirs: boolean;
      try {
        theirs = picomatch(p)(s);
      } catch (e) {
        diff.push(`${JSON.stringify(p)}: accepted here, picomatch throws ${String(e)}`);
        continue;
      }
      for (const input of [s, p]) {
        const a = input === s ? ours : native.globMatch(p, input);
        const b = input === s ? theirs : picomatch(p)(input);
        if (a !== b) diff.push(`${JSON.stringify(p)} vs ${JSON.stringify(input)}: picomatch ${b}, noderec ${a}`);
      }
    }
    expect(diff).toEqual([]);
  });

  it('regular expressions: where the Rust engine accepts one, RegExp accepts it and tests the same', () => {
    const all = cases('jsregex');
    expect(all.length).toBeGreaterThan(10);
    const diff: string[] = [];
    for (const [p, s] of all) {
      const ours = native.regexMatch(p, s);
      if (ours === null || ours === undefined) continue;
      const icase = p.startsWith('(?i)');
      let re: RegExp;
      try {
        re = new RegExp(icase ? p.slice(4) : p, icase ? 'i' : '');
      } catch (e) {
        diff.push(`${JSON.stringify(p)}: accepted here, RegExp throws ${String(e)}`);
        continue;
      }
      if (re.test(s) !== ours) diff.push(`${JSON.stringify(p)} vs ${JSON.stringify(s)}: RegExp ${!ours}, noderec ${ours}`);
    }
    expect(diff).toEqual([]);
  });
});
