// A plan's generated first-encoding writer (js/runtime/value-encoder.ts,
// compileWriter; decisions.md 41) takes over the keys and values of fresh
// objects of its key list from the plan's WRITE_AFTER-th (4096th) fresh
// object on. The bytes must be those of the generic loop before it: the same
// contents, encoded as fresh objects before and after the writer exists —
// values of every kind around the inline int path, strings, containers,
// and accessors (the writer stops at one and the loop writes the rest) at
// each position — with references off and on, trust off and on.
import { afterEach, describe, expect, it } from 'vitest';

import { arena, resetArena, setBounds, setRefs, setTrust, writeValue } from '../../js/runtime/value-encoder';

const VALUES: (() => unknown)[] = [
  () => 0,
  () => 1,
  () => -1,
  () => 63,
  () => 64,
  () => -65,
  () => 8191,
  () => 8192,
  () => -8193,
  () => 16383,
  () => 2 ** 31 - 1,
  () => -(2 ** 31),
  () => 2 ** 40,
  () => -0,
  () => 1.5,
  () => -1 / 3,
  () => NaN,
  () => -Infinity,
  () => '',
  () => 'x',
  () => 'caf\u00e9',
  () => 'a'.repeat(30),
  () => null,
  () => true,
  () => false,
  () => undefined,
  () => 10n,
  () => Symbol('s'),
  () => function named() {},
  () => ({ n: 1, m: 'two' }),
  () => [1, 2, [3]],
  () => new Map([[1, 2]]),
  () => new Date(0),
];

function bytes(v: unknown): number[] {
  resetArena();
  writeValue(v);
  return [...arena.buf.subarray(0, arena.pos)];
}

/** Content j of an object of `keys`: value (j + i) of VALUES at key i, and an accessor at key j % (keys + 1) for odd j (none when it is keys.length). */
function make(keys: string[], j: number, base: () => object = () => ({})): object {
  const o = base() as Record<string, unknown>;
  for (let i = 0; i < keys.length; i++) o[keys[i]] = VALUES[(j + i * 7) % VALUES.length]();
  if (j % 2 === 1) {
    const at = ((j - 1) / 2) % (keys.length + 1);
    if (at < keys.length) Object.defineProperty(o, keys[at], { get: () => 'GETTER RAN', enumerable: true, configurable: true });
  }
  return o;
}

afterEach(() => {
  setRefs(true);
  setTrust(false);
  setBounds(3, 32, 256);
  resetArena();
});

describe("a plan's generated first-encoding writer", () => {
  for (const [refs, trust] of [
    [false, false],
    [true, false],
    [true, true],
  ] as const) {
    it(`writes the bytes of the generic loop (references ${refs ? 'on' : 'off'}, trust ${trust ? 'on' : 'off'})`, () => {
      setRefs(refs);
      setTrust(trust);
      setBounds(3, 32, 256);
      // Key lists of 1, 3 and 6 keys, three of each (a plan of their own:
      // 15 objects each before its writer, so that every value comes at every key).
      for (const n of [1, 3, 6]) {
        for (let variant = 0; variant < 3; variant++) {
          const keys = Array.from({ length: n }, (_, i) => `k${i}_${variant}${refs ? 1 : 0}${trust ? 1 : 0}`);
          const contents = Array.from({ length: 15 }, (_, j) => j + 15 * variant);
          // Before the writer: the plan's first 15 fresh objects.
          const before = contents.map((j) => bytes(make(keys, j)));
          // The writer is made at the 4096th and used from then on (and warmed up).
          for (let r = 0; r < 4400; r++) bytes(make(keys, contents[r % 15]));
          contents.forEach((j, x) => expect(bytes(make(keys, j)), `${n} keys, content ${j}`).toEqual(before[x]));
        }
      }
    });
  }

  // The writer writes the plan's head too (decisions.md 43): a class name
  // and a null prototype in the head, and the object inside an array.
  class Point {}
  for (const [name, base] of [
    ['a class instance', () => new Point()],
    ['a null-prototype object', () => Object.create(null) as object],
  ] as const) {
    it(`writes the head and bytes of the generic loop for ${name}, at the top and inside an array`, () => {
      setRefs(true);
      setTrust(true);
      setBounds(3, 32, 256);
      const keys = ['x', 'y', 'label'];
      const contents = Array.from({ length: 15 }, (_, j) => j);
      const before = contents.map((j) => bytes(make(keys, j, base)));
      const inside = contents.map((j) => bytes([make(keys, j, base)]));
      for (let r = 0; r < 4400; r++) bytes(make(keys, contents[r % 15], base));
      contents.forEach((j, x) => {
        expect(bytes(make(keys, j, base)), `content ${j}`).toEqual(before[x]);
        expect(bytes([make(keys, j, base)]), `content ${j} in an array`).toEqual(inside[x]);
      });
    });
  }
});
