// The bytes of strings and object keys (values.md: `str` — tag, UTF-8 byte
// length, length in UTF-16 units, the UTF-8 bytes of the kept prefix; a
// key is the same body without the tag), whatever path writes them
// (js/runtime/value-encoder.ts: putShortStr, putStr, putStrLong, putStrSlow,
// a plan's key bytes, the generated writer's constant keys). Checked byte
// for byte against a reference built here with Buffer's UTF-8 encoder, over
// random strings (ASCII, Latin-1, BMP, pairs, lone surrogates, flat, cons and
// sliced), every length around the one-pass limit (24) and the string
// bound, and every place relative to the arena's end (the grow boundary).
// Also: the encoder calls no String.prototype method the program replaced.
import { afterEach, describe, expect, it } from 'vitest';

import { arena, resetArena, setBounds, writeValue } from '../../js/runtime/value-encoder';
import { resetSecrets, scrubString } from '../../js/runtime/secrets';
import { varint } from '../helpers/trace-file';

const T_STRING = 0x06;

/** A varint padded to `w` bytes (the long-string byte length, values.md). */
function padded(n: number, w: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < w - 1; i++) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n & 0x7f);
  return out;
}

/** The body of a `str` (no tag) of `s` cut at `bound` units, never half a pair. */
function body(s: string, bound: number): number[] {
  let keep = s.length < bound ? s.length : bound;
  if (keep < s.length && keep > 0) {
    const hi = s.charCodeAt(keep - 1);
    const lo = s.charCodeAt(keep);
    if (hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) keep--;
  }
  const bytes = [...Buffer.from(s.slice(0, keep), 'utf8')];
  // Past 24 kept units (before the pair rule) the byte length is written
  // padded to the width of 3 bytes a unit (putStrLong).
  const kept0 = s.length < bound ? s.length : bound;
  const len =
    kept0 > 24 ? padded(bytes.length, varint(kept0 * 3).length) : varint(bytes.length);
  return [...len, ...varint(s.length), ...bytes];
}

function encodedAt(v: unknown, room: number): number[] {
  // The arena's end `room` bytes ahead: the write grows it.
  arena.buf = new Uint8Array(256);
  arena.pos = 256 - room;
  const start = arena.pos;
  writeValue(v);
  return [...arena.buf.subarray(start, arena.pos)];
}

function encoded(v: unknown): number[] {
  resetArena();
  writeValue(v);
  return [...arena.buf.subarray(0, arena.pos)];
}

let seed = 2026;
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return Math.floor((seed / 0x80000000) * n);
}

const POOLS: Array<() => string> = [
  () => String.fromCharCode(0x20 + rnd(0x5f)),
  () => String.fromCharCode(rnd(0x80)),
  () => String.fromCharCode(0x80 + rnd(0x780)),
  () => String.fromCharCode(0x800 + rnd(0xd000)),
  () => String.fromCodePoint(0x10000 + rnd(0xfffff)),
  () => String.fromCharCode(0xd800 + rnd(0x400)),
  () => String.fromCharCode(0xdc00 + rnd(0x400)),
  () => String.fromCharCode(0xe000 + rnd(0x2000)),
];

/** A random string of about `len` units: all ASCII half of the time. */
function randomString(len: number): string {
  const ascii = rnd(2) === 0;
  const pools = ascii ? 2 : POOLS.length;
  let s = '';
  while (s.length < len) s += POOLS[rnd(pools)]();
  if (s.length > len && rnd(2) === 0) s = s.slice(0, len);
  // Flat, cons or sliced: V8 reads each representation its own way.
  const form = rnd(3);
  if (form === 1 && s.length > 1) {
    const cut = 1 + rnd(s.length - 1);
    s = s.slice(0, cut) + s.slice(cut);
  } else if (form === 2) {
    const host = 'h'.repeat(1 + rnd(40)) + s + 'tail'.repeat(8);
    const at = host.length - s.length - 32;
    s = host.slice(at, at + s.length);
  }
  return s;
}

const LENGTHS: number[] = [];
for (let n = 0; n <= 50; n++) LENGTHS.push(n);
LENGTHS.push(63, 64, 65, 127, 128, 129, 255, 256, 257, 300);

afterEach(() => {
  resetSecrets();
  setBounds(3, 32, 256);
  resetArena();
});

describe('string and key bytes', () => {
  for (const bound of [256, 40, 25, 24, 23, 13, 1]) {
    it(`strings of every length and kind are the reference bytes (string bound ${bound})`, () => {
      resetSecrets();
      setBounds(3, 32, bound);
      for (const len of LENGTHS) {
        for (let j = 0; j < 12; j++) {
          const s = randomString(len);
          const want = [T_STRING, ...body(scrubString(s), bound)];
          expect(encoded(s), JSON.stringify(s)).toEqual(want);
          // Inside an array (the string after the array's head).
          const arr = encoded([s]);
          expect(arr.slice(arr.length - want.length), JSON.stringify(s)).toEqual(want);
          expect(arr.length, JSON.stringify(s)).toBe(3 + want.length);
        }
      }
    });

    it(`keys of every length and kind are the reference bytes (string bound ${bound})`, () => {
      resetSecrets();
      setBounds(3, 32, bound);
      const one = encoded({ a: 1 });
      const head = one.slice(0, one.length - 5);
      for (const len of LENGTHS) {
        for (let j = 0; j < 6; j++) {
          const k = randomString(len);
          const want = [...head, ...body(k, bound), 0x04, 0x02];
          // Met again and again: the plan's key bytes, and past the
          // writer's threshold the generated writer's constant stores.
          for (let r = 0; r < 3; r++) expect(encoded({ [k]: 1 }), JSON.stringify(k)).toEqual(want);
          // The same object again: its second encoding is written with a
          // memo (putPlanKey).
          const o = { [k]: 1 };
          expect(encoded(o), JSON.stringify(k)).toEqual(want);
          expect(encoded(o), JSON.stringify(k)).toEqual(want);
        }
      }
    });
  }

  it('keys are the reference bytes through the generated writer', () => {
    setBounds(3, 32, 256);
    const keys = ['', 'a', 'caf\u00e9', '\u{1f600}x', '\ud800', 'k'.repeat(24), 'k'.repeat(25), 'm'.repeat(43), 'n\u00e9'.repeat(20)];
    const o: Record<string, number> = {};
    for (const k of keys) o[k] = 7;
    const first = encoded(o);
    // (past WRITE_AFTER, 4096 fresh objects of the plan)
    for (let r = 0; r < 5000; r++) {
      const fresh: Record<string, number> = {};
      for (const k of keys) fresh[k] = 7;
      const got = encoded(fresh);
      if (r % 1000 === 0 || r > 4090) expect(got).toEqual(first);
    }
    const ks = Object.keys(o);
    let want: number[] = [];
    for (const k of ks) want = [...want, ...body(k, 256), 0x04, 0x0e];
    expect(first.slice(first.length - want.length)).toEqual(want);
  });

  it('strings are the reference bytes at every place before the arena end (grow boundary)', () => {
    setBounds(3, 32, 256);
    for (let room = 0; room <= 140; room++) {
      for (const len of [0, 1, 5, 13, 23, 24, 25, 30, 40, 42, 43, 100]) {
        const s = randomString(len);
        const want = [T_STRING, ...body(scrubString(s), 256)];
        expect(encodedAt(s, room), JSON.stringify([s, room])).toEqual(want);
        const k = randomString(len);
        const obj = encodedAt({ [k]: true }, room);
        expect(obj.slice(obj.length - body(k, 256).length - 1), JSON.stringify([k, room])).toEqual([...body(k, 256), 0x03]);
      }
    }
  });

  it("calls no String.prototype method nor typed-array getter the program replaced", () => {
    setBounds(3, 32, 256);
    const proto = String.prototype as unknown as Record<string, unknown>;
    const names = ['charCodeAt', 'codePointAt', 'slice', 'substring', 'indexOf', 'at', 'toString', 'valueOf'];
    const saved = names.map((n) => proto[n]);
    const taProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
    // Not `byteLength`: Node's own Buffer#utf8Write reads this.byteLength
    // (bench/README.md *str21*).
    const getters = ['buffer', 'byteOffset', 'length'];
    const savedGetters = getters.map((g) => Object.getOwnPropertyDescriptor(taProto, g)!);
    let calls = 0;
    let counting = false;
    const values = ['', 'a', 'identifier_12', 'caf\u00e9', 'x'.repeat(30), 'y\u00e9'.repeat(30), { name: 'ab', ['k\u00e9y']: 'v' }, ['s', 't']];
    // Each in a new arena: the long-string path makes its Buffer view again.
    const run = (): number[][] =>
      values.map((v) => {
        arena.buf = new Uint8Array(64);
        arena.pos = 0;
        counting = true;
        writeValue(v);
        counting = false;
        return [...arena.buf.subarray(0, arena.pos)];
      });
    const want = run();
    try {
      names.forEach((n, i) => {
        const orig = saved[i] as (...a: unknown[]) => unknown;
        proto[n] = function (this: unknown, ...a: unknown[]) {
          if (counting) calls++;
          return orig.apply(this, a);
        };
      });
      getters.forEach((g, i) => {
        const get = savedGetters[i].get!;
        Object.defineProperty(taProto, g, {
          configurable: true,
          get(this: unknown) {
            if (counting) calls++;
            return get.call(this);
          },
        });
      });
      const got = run();
      expect(calls).toBe(0);
      expect(got).toEqual(want);
    } finally {
      names.forEach((n, i) => (proto[n] = saved[i]));
      getters.forEach((g, i) => Object.defineProperty(taProto, g, savedGetters[i]));
    }
  });
});
