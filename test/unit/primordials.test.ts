// The recorder's captured built-ins (decision 54): the helpers that replace
// RegExp methods give what the methods give, and keep working after the
// program replaced the prototype methods they stand for.
import { afterEach, describe, expect, it } from 'vitest';

import { ownApply, reTest, splitLines, StringPrototypeSplit } from '../../js/runtime/primordials';

const LINES = /\r\n|\r|\n|\u2028|\u2029/;
const SAMPLES = ['', 'a', '\n', 'a\nb', 'a\r\nb\rc\u2028d\u2029e', '\r\n\r\n', 'x\r', '\r\ny', 'tail\n'];

const saved: [object, PropertyKey, PropertyDescriptor][] = [];
function replace(o: object, k: PropertyKey, value: unknown): void {
  saved.push([o, k, Object.getOwnPropertyDescriptor(o, k)!]);
  Object.defineProperty(o, k, { value, configurable: true, writable: true });
}
function restore(): void {
  for (const [o, k, d] of saved.splice(0).reverse()) Object.defineProperty(o, k, d);
}
afterEach(restore);

describe('primordials', () => {
  it('splitLines splits as split() with the line-terminator RegExp', () => {
    for (const s of SAMPLES) expect(splitLines(s)).toEqual(s.split(LINES));
  });

  it('splitLines, reTest and the uncurried split ignore replaced String/RegExp methods', () => {
    const expected = SAMPLES.map((s) => s.split(LINES));
    const boom = (): never => {
      throw new Error('replacement called');
    };
    replace(RegExp.prototype, 'exec', boom);
    replace(String.prototype, 'split', boom);
    replace(String.prototype, 'charCodeAt', boom);
    replace(String.prototype, 'slice', boom);
    let got: unknown[] = [];
    try {
      const split: string[][] = [];
      for (let i = 0; i < SAMPLES.length; i++) split[i] = splitLines(SAMPLES[i]);
      got = [split, reTest(/^\s+at /, '    at f (x.js:1:1)'), reTest(/^\s+at /, 'Error: x'), StringPrototypeSplit('a.b', '.')];
    } finally {
      restore();
    }
    expect(got).toEqual([expected, true, false, ['a', 'b']]);
  });

  it('ownApply: a listener is applied through the captured apply', () => {
    let got: unknown[] = [];
    const f = ownApply(function (this: unknown, ...a: unknown[]) {
      got = a;
      return 7;
    });
    const apply = Object.getOwnPropertyDescriptor(Function.prototype, 'apply')!;
    let calledReplacement = 0;
    let r: unknown;
    Object.defineProperty(Function.prototype, 'apply', {
      ...apply,
      value: function () {
        calledReplacement++;
        return undefined;
      },
    });
    try {
      r = f.apply(null, [1, 2]);
    } finally {
      Object.defineProperty(Function.prototype, 'apply', apply);
    }
    expect(calledReplacement).toBe(0);
    expect(r).toBe(7);
    expect(got).toEqual([1, 2]);
  });
});
