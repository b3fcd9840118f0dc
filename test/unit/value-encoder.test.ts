import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  arena,
  resetArena,
  setBounds,
  setThisDepth,
  setValueBudget,
  writeValue,
  writeValueFull,
  writeValueShallow,
  writeVarint,
  setTrust,
  setRefs,
  untrust,
  setAttrResolver,
  registerAttr,
  attrFor,
  attrNone,
  encoderWork,
  setMemoBudget,
  setProtoWatch,
  setShapeWitness,
  shapeWitnessHits,
} from '../../js/runtime/value-encoder';
import { installDefiners } from '../../js/runtime/definers';
import { configureSecrets, resetSecrets } from '../../js/runtime/secrets';
import { encodeBoth } from '../helpers/encode-both';
import { Reader } from '../helpers/value-reader';

/** Encodes v after what the arena holds (references to it allowed) and decodes it. */
function roundTripKeep(v: unknown): any {
  const start = arena.pos;
  writeValue(v);
  const r = new Reader(arena.buf, arena.pos);
  r.pos = start;
  const out = r.value();
  expect(r.pos).toBe(arena.pos);
  return out;
}

/** Encodes v into a fresh arena and returns its bytes. */
function bytesOf(v: unknown, shallow = false): number[] {
  resetArena();
  if (shallow) writeValueShallow(v);
  else writeValue(v);
  return Array.from(arena.buf.subarray(0, arena.pos));
}

/** Encodes v and decodes it; checks the value spans the whole output. */
function roundTrip(v: unknown, shallow = false): any {
  resetArena();
  if (shallow) writeValueShallow(v);
  else writeValue(v);
  const r = new Reader(arena.buf, arena.pos);
  const out = r.value();
  expect(r.pos).toBe(arena.pos);
  return out;
}

function f64le(x: number): number[] {
  return Array.from(new Uint8Array(new Float64Array([x]).buffer));
}

beforeEach(() => {
  setBounds(3, 32, 256);
  resetArena();
});
afterEach(() => {
  setBounds(3, 32, 256);
  resetArena();
});

// ---------------------------------------------------------------------------

describe('primitives', () => {
  it('encodes the constant tags', () => {
    expect(bytesOf(undefined)).toEqual([0x00]);
    expect(bytesOf(null)).toEqual([0x01]);
    expect(bytesOf(false)).toEqual([0x02]);
    expect(bytesOf(true)).toEqual([0x03]);
  });

  it('encodes int32 as zigzag varints', () => {
    expect(bytesOf(0)).toEqual([0x04, 0]);
    expect(bytesOf(-1)).toEqual([0x04, 1]);
    expect(bytesOf(1)).toEqual([0x04, 2]);
    expect(bytesOf(63)).toEqual([0x04, 126]);
    expect(bytesOf(64)).toEqual([0x04, 0x80, 0x01]);
    expect(bytesOf(2147483647)).toEqual([0x04, 0xfe, 0xff, 0xff, 0xff, 0x0f]);
    expect(bytesOf(-2147483648)).toEqual([0x04, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    for (const n of [5, -5, 1000, -123456, 2147483647, -2147483648]) {
      expect(roundTrip(n)).toBe(n);
    }
  });

  it('encodes other numbers as float64 LE', () => {
    expect(bytesOf(-0)).toEqual([0x05, ...f64le(-0)]);
    expect(bytesOf(1.5)).toEqual([0x05, ...f64le(1.5)]);
    expect(bytesOf(2147483648)).toEqual([0x05, ...f64le(2147483648)]);
    expect(bytesOf(-2147483649)).toEqual([0x05, ...f64le(-2147483649)]);
    for (const x of [-0, NaN, Infinity, -Infinity, 0.1, 1e300, 2 ** 53, Number.MIN_VALUE]) {
      expect(Object.is(roundTrip(x), x)).toBe(true);
    }
  });

  it('writeVarint writes unsigned LEB128 up to 2^53', () => {
    const check = (n: number, want: number[]) => {
      resetArena();
      writeVarint(n);
      expect(Array.from(arena.buf.subarray(0, arena.pos))).toEqual(want);
      const r = new Reader(arena.buf, arena.pos);
      expect(r.varint()).toBe(n);
    };
    check(0, [0]);
    check(127, [127]);
    check(128, [0x80, 1]);
    check(300, [0xac, 0x02]);
    check(2 ** 32, [0x80, 0x80, 0x80, 0x80, 0x10]);
    check(2 ** 53, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
    check(2 ** 53 - 1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  it('encodes bigint and symbol', () => {
    expect(roundTrip(123n)).toEqual({ $: 'bigint', v: '123' });
    expect(roundTrip(-(10n ** 30n))).toEqual({ $: 'bigint', v: '-1' + '0'.repeat(30) });
    expect(roundTrip(Symbol('x'))).toEqual({ $: 'symbol', description: 'x' });
    expect(roundTrip(Symbol())).toEqual({ $: 'symbol', description: { $: 'undefined' } });
    expect(roundTrip(Symbol(''))).toEqual({ $: 'symbol', description: '' });
    setBounds(3, 32, 4);
    expect(roundTrip(123456789n)).toEqual({ $: 'bigint', v: '1234', length: 9 });
  });
});

describe('strings', () => {
  it('encodes ASCII with byte and full lengths', () => {
    expect(bytesOf('ab')).toEqual([0x06, 2, 2, 0x61, 0x62]);
    expect(bytesOf('')).toEqual([0x06, 0, 0]);
  });

  it('encodes non-ASCII as UTF-8', () => {
    expect(bytesOf('é')).toEqual([0x06, 2, 1, 0xc3, 0xa9]);
    expect(bytesOf('😀')).toEqual([0x06, 4, 2, 0xf0, 0x9f, 0x98, 0x80]);
    expect(roundTrip('aé€😀 \n"\\')).toBe('aé€😀 \n"\\');
  });

  it('replaces lone surrogates with U+FFFD', () => {
    expect(roundTrip('a\ud800b')).toBe('a\ufffdb');
    expect(roundTrip('\udc00')).toBe('\ufffd');
  });

  it('truncates to the string bound and records the full length', () => {
    setBounds(3, 32, 4);
    expect(bytesOf('abcdefgh')).toEqual([0x06, 4, 8, 0x61, 0x62, 0x63, 0x64]);
    expect(roundTrip('abcd')).toBe('abcd');
    expect(roundTrip('ééééé')).toEqual({ $: 'string', v: 'éééé', length: 5 });
    // A surrogate pair straddling the bound is dropped whole.
    expect(roundTrip('abc😀d')).toEqual({ $: 'string', v: 'abc', length: 6 });
    expect(roundTrip('ab😀d')).toEqual({ $: 'string', v: 'ab😀', length: 5 });
    // Long non-ASCII string header sizes (varint widths differ).
    setBounds(3, 32, 100);
    const long = 'é'.repeat(300);
    expect(roundTrip(long)).toEqual({ $: 'string', v: 'é'.repeat(100), length: 300 });
    const b = bytesOf(long);
    expect(b.slice(0, 5)).toEqual([0x06, 200, 1, 0xac, 0x02]);
    expect(b.length).toBe(5 + 200);
  });
});

describe('functions', () => {
  it('records name and kind', () => {
    function plain() {}
    class Klass {}
    class Sub extends Klass {}
    async function af() {}
    function* gen() {}
    async function* agen() {}
    const arrow = () => {};
    const obj = { method() {} };
    expect(roundTrip(plain)).toEqual({ $: 'function', name: 'plain', kind: 'function' });
    expect(roundTrip(Klass)).toEqual({ $: 'function', name: 'Klass', kind: 'class' });
    expect(roundTrip(Sub)).toEqual({ $: 'function', name: 'Sub', kind: 'class' });
    expect(roundTrip(af)).toEqual({ $: 'function', name: 'af', kind: 'async' });
    expect(roundTrip(gen)).toEqual({ $: 'function', name: 'gen', kind: 'generator' });
    expect(roundTrip(agen)).toEqual({ $: 'function', name: 'agen', kind: 'async-generator' });
    expect(roundTrip(arrow)).toEqual({ $: 'function', name: 'arrow', kind: 'other' });
    expect(roundTrip(obj.method)).toEqual({ $: 'function', name: 'method', kind: 'other' });
    expect(roundTrip(plain.bind(null))).toEqual({
      $: 'function',
      name: 'bound plain',
      kind: 'other',
    });
    expect(roundTrip(Math.max)).toEqual({ $: 'function', name: 'max', kind: 'other' });
    expect(roundTrip(Map)).toEqual({ $: 'function', name: 'Map', kind: 'class' });
  });

  it('does not invoke a name getter', () => {
    let calls = 0;
    function f() {}
    Object.defineProperty(f, 'name', {
      get() {
        calls++;
        return 'x';
      },
    });
    expect(roundTrip(f)).toEqual({ $: 'function', name: '', kind: 'function' });
    expect(calls).toBe(0);
  });
});

describe('containers', () => {
  it('encodes arrays with holes and cut items', () => {
    expect(bytesOf([1, 'a'])).toEqual([0x0a, 2, 2, 0x04, 2, 0x06, 1, 1, 0x61]);
    // eslint-disable-next-line no-sparse-arrays
    expect(roundTrip([1, , 3])).toEqual([1, { $: 'hole' }, 3]);
    expect(roundTrip(new Array(1000))).toEqual({
      $: 'array',
      length: 1000,
      items: Array.from({ length: 32 }, () => ({ $: 'hole' })),
    });
    setBounds(3, 2, 256);
    expect(roundTrip([1, 2, 3, 4])).toEqual({ $: 'array', length: 4, items: [1, 2] });
    expect(roundTrip([1, 2])).toEqual([1, 2]);
  });

  it('encodes plain, null-prototype and class-instance objects', () => {
    expect(bytesOf({ a: 1 })).toEqual([
      0x0b, 6, 6, ...Buffer.from('Object'), 1, 1, 1, 1, 0x61, 0x04, 2,
    ]);
    const np = Object.create(null);
    np.x = true;
    expect(roundTrip(np)).toEqual({ $: 'object', class: 'null', props: { x: true } });
    class Cart {
      items = [1];
      total = 2.5;
    }
    expect(roundTrip(new Cart())).toEqual({
      $: 'object',
      class: 'Cart',
      props: { items: [1], total: 2.5 },
    });
    // Prototype without its own constructor: found further up the chain.
    expect(roundTrip(Object.create({ inherited: 1 }))).toEqual({
      $: 'object',
      class: 'Object',
      props: {},
    });
    class Base {}
    class Derived extends Base {}
    expect(roundTrip(new Derived()).class).toBe('Derived');
  });

  it('skips symbol keys and non-enumerable keys, records totals', () => {
    const o: any = { a: 1, [Symbol('s')]: 2 };
    Object.defineProperty(o, 'hidden', { value: 3, enumerable: false });
    expect(roundTrip(o)).toEqual({ $: 'object', class: 'Object', props: { a: 1 } });
    setBounds(3, 2, 256);
    expect(roundTrip({ a: 1, b: 2, c: 3 })).toEqual({
      $: 'object',
      class: 'Object',
      props: { a: 1, b: 2 },
      total: 3,
    });
  });

  it('encodes maps and sets', () => {
    const m = new Map<unknown, unknown>([
      ['a', 1],
      [2, { b: null }],
    ]);
    expect(roundTrip(m)).toEqual({
      $: 'map',
      size: 2,
      entries: [
        ['a', 1],
        [2, { $: 'object', class: 'Object', props: { b: null } }],
      ],
    });
    expect(roundTrip(new Set([1, 'x']))).toEqual({ $: 'set', size: 2, values: [1, 'x'] });
    setBounds(3, 1, 256);
    expect(roundTrip(new Set([1, 2, 3]))).toEqual({ $: 'set', size: 3, values: [1] });
    expect(roundTrip(m)).toEqual({ $: 'map', size: 2, entries: [['a', 1]] });
  });

  it('encodes dates, errors and regexps', () => {
    expect(bytesOf(new Date(0))).toEqual([0x0e, ...f64le(0)]);
    expect(roundTrip(new Date(1704067200000))).toEqual({ $: 'date', v: 1704067200000 });
    expect(Number.isNaN(roundTrip(new Date('nope')).v)).toBe(true);
    expect(roundTrip(new TypeError('bad'))).toEqual({
      $: 'error',
      class: 'TypeError',
      message: 'bad',
    });
    class MyError extends Error {}
    expect(roundTrip(new MyError('m'))).toEqual({ $: 'error', class: 'MyError', message: 'm' });
    expect(roundTrip(new Error())).toEqual({ $: 'error', class: 'Error', message: '' });
    expect(roundTrip(/a+\d/gimsuy)).toEqual({ $: 'regexp', source: 'a+\\d', flags: 'gimsuy' });
    expect(roundTrip(/x/dv)).toEqual({ $: 'regexp', source: 'x', flags: 'dv' });
  });

  it('encodes binary data', () => {
    expect(roundTrip(new Uint8Array([1, 2, 255]))).toEqual({
      $: 'bytes',
      class: 'Uint8Array',
      length: 3,
      hex: '0102ff',
    });
    expect(roundTrip(Buffer.from('hi'))).toEqual({
      $: 'bytes',
      class: 'Buffer',
      length: 2,
      hex: '6869',
    });
    expect(roundTrip(new Uint16Array([1, 0x0203]))).toEqual({
      $: 'bytes',
      class: 'Uint16Array',
      length: 2,
      hex: '01000302',
    });
    const big = new Float64Array(10);
    const r = roundTrip(big);
    expect(r.length).toBe(10);
    expect(r.hex).toBe('00'.repeat(32));
    const ab = new Uint8Array([9, 8, 7, 6, 5]).buffer;
    expect(roundTrip(ab)).toEqual({ $: 'bytes', class: 'ArrayBuffer', length: 5, hex: '0908070605' });
    expect(roundTrip(new Uint8Array(ab, 2, 2))).toEqual({
      $: 'bytes',
      class: 'Uint8Array',
      length: 2,
      hex: '0706',
    });
    expect(roundTrip(new DataView(ab, 1, 3))).toEqual({
      $: 'bytes',
      class: 'DataView',
      length: 3,
      hex: '080706',
    });
    const sab = new SharedArrayBuffer(2);
    expect(roundTrip(sab)).toEqual({ $: 'bytes', class: 'SharedArrayBuffer', length: 2, hex: '0000' });
    // Detached buffers and views over them.
    const det = new ArrayBuffer(8);
    const view = new Uint8Array(det);
    const dv = new DataView(det);
    structuredClone(det, { transfer: [det] });
    expect(roundTrip(det)).toEqual({ $: 'bytes', class: 'ArrayBuffer', length: 0, hex: '' });
    expect(roundTrip(view)).toEqual({ $: 'bytes', class: 'Uint8Array', length: 0, hex: '' });
    expect(roundTrip(dv)).toEqual({ $: 'bytes', class: 'DataView', length: 0, hex: '' });
  });

  it('encodes opaque objects', () => {
    const p = Promise.resolve(1);
    expect(roundTrip(p)).toEqual({ $: 'opaque', class: 'Promise' });
    expect(roundTrip(new WeakMap())).toEqual({ $: 'opaque', class: 'WeakMap' });
    expect(roundTrip(new WeakSet())).toEqual({ $: 'opaque', class: 'WeakSet' });
    expect(roundTrip(new WeakRef({}))).toEqual({ $: 'opaque', class: 'WeakRef' });
    expect(roundTrip(new Number(1))).toEqual({ $: 'opaque', class: 'Number' });
    expect(roundTrip(new String('s'))).toEqual({ $: 'opaque', class: 'String' });
    expect(roundTrip(Object(Symbol('q')))).toEqual({ $: 'opaque', class: 'Symbol' });
  });
});

describe('side-effect freedom', () => {
  it('never invokes getters or setters', () => {
    let calls = 0;
    const o = {
      get g() {
        calls++;
        return 1;
      },
      set s(_v: number) {
        calls++;
      },
      plain: 1,
    };
    expect(roundTrip(o)).toEqual({
      $: 'object',
      class: 'Object',
      props: {
        g: { $: 'accessor', get: true, set: false },
        s: { $: 'accessor', get: false, set: true },
        plain: 1,
      },
    });
    const arr: number[] = [1];
    Object.defineProperty(arr, 1, {
      get() {
        calls++;
        return 2;
      },
      enumerable: true,
    });
    expect(roundTrip(arr)).toEqual([1, { $: 'accessor', get: true, set: false }]);
    // Error with accessor message and stack.
    const e = new Error('x');
    Object.defineProperty(e, 'message', {
      get() {
        calls++;
        return 'm';
      },
    });
    Object.defineProperty(e, 'stack', {
      get() {
        calls++;
        return 's';
      },
    });
    expect(roundTrip(e)).toEqual({ $: 'error', class: 'Error', message: '' });
    // Getter-valued constructor on a prototype, and constructor.name getter.
    const proto = {};
    Object.defineProperty(proto, 'constructor', {
      get() {
        calls++;
        return Object;
      },
    });
    expect(roundTrip(Object.create(proto)).class).toBe('Object');
    class Named {}
    Object.defineProperty(Named, 'name', {
      get() {
        calls++;
        return 'N';
      },
    });
    expect(roundTrip(new Named()).class).toBe('Object');
    expect(calls).toBe(0);
  });

  it('encodes a Proxy with throwing traps as proxy without touching it', () => {
    let trapped = 0;
    const handler = new Proxy(
      {},
      {
        get() {
          trapped++;
          throw new Error('trap');
        },
      },
    );
    const p = new Proxy({ a: 1 }, handler);
    const fp = new Proxy(function f() {}, handler);
    const ap = new Proxy([1, 2], handler);
    expect(bytesOf(p)).toEqual([0x12]);
    expect(roundTrip(fp)).toEqual({ $: 'proxy' });
    expect(roundTrip(ap)).toEqual({ $: 'proxy' });
    expect(roundTrip({ inner: p, list: [fp] })).toEqual({
      $: 'object',
      class: 'Object',
      props: { inner: { $: 'proxy' }, list: [{ $: 'proxy' }] },
    });
    // A Proxy as prototype is never asked for anything either.
    const withProxyProto = Object.create(p);
    Object.defineProperty(withProxyProto, 'own', { value: 1, enumerable: true });
    expect(roundTrip(withProxyProto)).toEqual({
      $: 'object',
      class: 'Object',
      props: { own: 1 },
    });
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    expect(roundTrip(revocable.proxy)).toEqual({ $: 'proxy' });
    expect(trapped).toBe(0);
  });

  it('never calls toJSON/toString/valueOf/Symbol.iterator/entries overrides', () => {
    let calls = 0;
    const bump = () => {
      calls++;
      throw new Error('called');
    };
    const m: any = new Map([['k', 'v']]);
    m.toJSON = bump;
    m.toString = bump;
    m.valueOf = bump;
    m[Symbol.iterator] = bump;
    m.entries = bump;
    m.forEach = bump;
    Object.defineProperty(m, 'size', { get: bump });
    expect(roundTrip(m)).toEqual({ $: 'map', size: 1, entries: [['k', 'v']] });

    class MySet extends Set {
      get size() {
        return bump();
      }
      values(): any {
        return bump();
      }
      [Symbol.iterator](): any {
        return bump();
      }
    }
    expect(roundTrip(new MySet([1]))).toEqual({ $: 'set', size: 1, values: [1] });

    const d: any = new Date(5);
    d.getTime = bump;
    d.valueOf = bump;
    d.toISOString = bump;
    expect(roundTrip(d)).toEqual({ $: 'date', v: 5 });

    class R extends RegExp {
      get global(): boolean {
        return bump();
      }
      get flags(): string {
        return bump();
      }
      get source(): string {
        return bump();
      }
    }
    expect(roundTrip(new R('a', 'g'))).toEqual({ $: 'regexp', source: 'a', flags: 'g' });

    class T extends Uint8Array {
      get length(): number {
        return bump();
      }
      get byteLength(): number {
        return bump();
      }
      get buffer(): any {
        return bump();
      }
    }
    expect(roundTrip(new T([7]))).toEqual({ $: 'bytes', class: 'T', length: 1, hex: '07' });
    expect(calls).toBe(0);
  });

  it('uses built-ins captured at load, not patched prototypes', () => {
    let calls = 0;
    const saved = {
      entries: Map.prototype.entries,
      values: Set.prototype.values,
      getTime: Date.prototype.getTime,
      keysCall: Function.prototype.call,
    };
    const bump = function () {
      calls++;
      throw new Error('patched');
    };
    let out: any;
    try {
      Map.prototype.entries = bump as any;
      Set.prototype.values = bump as any;
      Date.prototype.getTime = bump as any;
      Function.prototype.call = bump as any;
      resetArena();
      writeValue([new Map([[1, 2]]), new Set([3]), new Date(7)]);
    } finally {
      Function.prototype.call = saved.keysCall;
      Map.prototype.entries = saved.entries;
      Set.prototype.values = saved.values;
      Date.prototype.getTime = saved.getTime;
    }
    out = new Reader(arena.buf, arena.pos).value();
    expect(out).toEqual([
      { $: 'map', size: 1, entries: [[1, 2]] },
      { $: 'set', size: 1, values: [3] },
      { $: 'date', v: 7 },
    ]);
    expect(calls).toBe(0);
  });
});

describe('fresh arrays read with plain reads (definers wrapped)', () => {
  for (const [refs, memoKib] of [[true, 1024], [false, 1024], [true, 0]] as const) it(`an accessor element made by any definer never runs, before or after a first capture; holes and undefined stay apart${refs ? '' : ' (references off)'}${memoKib === 0 ? ' (memos dropped at every value)' : ''}`, () => {
    expect(installDefiners(untrust)).toBe(true);
    setTrust(true);
    setRefs(refs);
    setMemoBudget(memoKib * 1024);
    try {
      const work0 = encoderWork[3];
      let ran = 0;
      const get = (): number => ++ran;
      // eslint-disable-next-line no-sparse-arrays
      const fresh = [1, -0, 2.5, undefined, , 'a', null, [3]];
      const want = [1, -0, 2.5, { $: 'undefined' }, { $: 'hole' }, 'a', null, [3]];
      expect(roundTrip(fresh)).toEqual(want);
      expect(roundTrip(fresh)).toEqual(want);
      expect(encoderWork[3] - work0).toBeGreaterThan(0);
      const defs: Array<(a: unknown[]) => void> = [
        (a) => Object.defineProperty(a, 1, { get, enumerable: true, configurable: true }),
        (a) => Object.defineProperties(a, { 1: { get, enumerable: true, configurable: true } }),
        (a) => Reflect.defineProperty(a, 1, { get, enumerable: true, configurable: true }),
        (a) => Object.prototype.__defineGetter__.call(a, '1', get),
        (a) => Object.prototype.__defineSetter__.call(a, '1', () => {}),
      ];
      for (const def of defs) {
        for (const before of [0, 1, 2, 3]) {
          const a = [1, 2, 3];
          for (let c = 0; c < before; c++) roundTrip(a);
          def(a);
          const out = roundTrip(a);
          expect(out[1].$).toBe('accessor');
          expect(roundTrip(a)[1].$).toBe('accessor');
          expect(roundTrip({ inside: a }).props.inside[1].$).toBe('accessor');
        }
      }
      // Numbers around the inline small-int path decode as they were.
      const nums = [0, -0, -1, 1, 63, 64, -64, -65, 4095, 4096, 8191, 8192, -8191, -8192, -8193, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 0.5, NaN, -Infinity];
      const got = roundTrip(nums);
      expect(got).toHaveLength(nums.length);
      nums.forEach((x, i) => expect(Object.is(got[i], x)).toBe(true));
      // A proxy of an array given to a definer, an array subclass, another realm.
      const p = new Proxy([1, 2], {});
      Object.defineProperty(p, 0, { get, enumerable: true, configurable: true });
      expect(roundTrip(p)).toEqual({ $: 'proxy' });
      class Sub extends Array {}
      const sub = Sub.from([1, 2]);
      Object.defineProperty(sub, 0, { get, enumerable: true, configurable: true });
      expect(roundTrip(sub)).toMatchObject([{ $: 'accessor' }, 2]);
      expect(ran).toBe(0);
    } finally {
      setMemoBudget(512 << 10);
      setRefs(true);
      setTrust(false);
    }
  });
});

describe('pair lists read with plain reads', () => {
  it('a pair list captured again and again (memo, trusted, changed between captures) keeps its secret values redacted', () => {
    expect(installDefiners(untrust)).toBe(true);
    setTrust(true);
    configureSecrets({ strings: [], pairs: true }, (k) => (/authorization|api-key/i.test(k) ? 1 : 0));
    setAttrResolver((_set, k) => (/authorization|api-key/i.test(k) ? 1 : 0));
    registerAttr(7, 1, 1);
    attrFor(7);
    try {
      const raw = ['Authorization', 'sk_live_R3f5g7h9j1k3', 'Accept', 'json', 'X-Api-Key', 'k-123'];
      for (let i = 0; i < 6; i++) {
        raw[3] = 'json' + i;
        const out = roundTripKeep(raw);
        expect(out[1]).toEqual({ $: 'redacted', type: 'string' });
        expect(out[3]).toBe('json' + i);
        expect(out[5]).toEqual({ $: 'redacted', type: 'string' });
      }
    } finally {
      attrNone();
      setAttrResolver(() => 0);
      resetSecrets();
      setTrust(false);
    }
  });
});

describe('fresh objects written from their shape plan', () => {
  // A first encoding of an object whose keys all fit writes the plan's
  // head (tag, class, counts) and key bytes; each value is still read with
  // its descriptor.
  const obj = (props: Record<string, unknown>, cls = 'Object', total?: number) =>
    total === undefined ? { $: 'object', class: cls, props } : { $: 'object', class: cls, props, total };

  it('objects of one key list with data values, accessors, a missing key and other classes decode as themselves', () => {
    let calls = 0;
    const make = [
      (i: number) => ({ a: i, b: 'n' + i, c: null }),
      () => ({
        get a() {
          calls++;
          return 1;
        },
        b: 'x',
        set c(_v: unknown) {
          calls++;
        },
      }),
    ];
    class Point {
      a = 1;
      b = 'p';
      c = true;
    }
    for (let r = 0; r < 40; r++) {
      expect(roundTripKeep(make[0](r))).toEqual(obj({ a: r, b: 'n' + r, c: null }));
      expect(roundTripKeep(make[1]())).toEqual(
        obj({ a: { $: 'accessor', get: true, set: false }, b: 'x', c: { $: 'accessor', get: false, set: true } }),
      );
      expect(roundTripKeep(new Point())).toEqual(obj({ a: 1, b: 'p', c: true }, 'Point'));
      const np = Object.assign(Object.create(null), { a: r, b: 'q', c: false });
      expect(roundTripKeep(np)).toEqual(obj({ a: r, b: 'q', c: false }, 'null'));
      // Nested fresh objects of the same key list.
      expect(roundTripKeep({ a: { a: 1, b: 'i', c: null }, b: [r], c: { a: 2, b: 'j', c: null } })).toEqual(
        obj({ a: obj({ a: 1, b: 'i', c: null }), b: [r], c: obj({ a: 2, b: 'j', c: null }) }),
      );
    }
    expect(calls).toBe(0);
  });

  it('numbers, booleans, null and undefined written by the fresh path read back exactly', () => {
    const nums = [0, -0, 1, -1, 63, 64, -65, 8191, 8192, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 0.5, NaN, Infinity, -Infinity, 1e300];
    for (const x of nums) {
      for (const y of [true, false, null, undefined]) {
        const out = roundTripKeep({ x, y, z: 's' });
        expect(Object.is(out.props.x, x)).toBe(true);
        expect(out.props.y).toEqual(y === undefined ? { $: 'undefined' } : y);
        expect(out.props.z).toBe('s');
      }
    }
  });

  it('a changed string bound, items bound or budget gives the shape a head of its own', () => {
    const v = () => ({ alpha: 1, beta: 'bb', gamma: 3 });
    for (let r = 0; r < 20; r++) expect(roundTripKeep(v())).toEqual(obj({ alpha: 1, beta: 'bb', gamma: 3 }));
    setBounds(3, 32, 3);
    for (let r = 0; r < 20; r++) expect(roundTrip(v()).props).toEqual({ alp: 1, bet: 'bb', gam: 3 });
    setBounds(3, 2, 256);
    for (let r = 0; r < 20; r++) expect(roundTrip(v())).toEqual(obj({ alpha: 1, beta: 'bb' }, 'Object', 3));
    // (the budget is never less than the items bound)
    setBounds(3, 3, 256);
    setValueBudget(4);
    for (let r = 0; r < 20; r++) {
      expect(roundTrip({ x: v(), y: v() })).toEqual(
        obj({ x: obj({ alpha: 1, beta: 'bb' }, 'Object', 3), y: { $: 'truncated', class: 'Object' } }),
      );
    }
    setValueBudget(1024);
  });

  it('under attr: rules, a redacted key keeps its type and a dropped key leaves the count', () => {
    setAttrResolver((_set, k) => (k === 'password' ? 1 : k === 'internal' ? 2 : 0));
    registerAttr(11, 1, 1);
    attrFor(11);
    try {
      for (let r = 0; r < 40; r++) {
        expect(roundTripKeep({ user: 'u' + r, password: 'p', internal: 7, n: r })).toEqual(
          obj({ user: 'u' + r, password: { $: 'redacted', type: 'string' }, n: r }),
        );
      }
      attrNone();
      expect(roundTripKeep({ user: 'u', password: 'p', internal: 7, n: 1 })).toEqual(obj({ user: 'u', password: 'p', internal: 7, n: 1 }));
    } finally {
      attrNone();
      setAttrResolver(() => 0);
    }
  });
});

describe('cycles and bounds', () => {
  it('emits circular references with the ancestor distance', () => {
    const a: any = { name: 'a' };
    a.self = a;
    expect(roundTrip(a)).toEqual({
      $: 'object',
      class: 'Object',
      props: { name: 'a', self: { $: 'circular', up: 1 } },
    });
    const b: any = { child: { back: null } };
    b.child.back = b;
    expect(roundTrip(b).props.child.props.back).toEqual({ $: 'circular', up: 2 });
    const arr: any[] = [];
    arr.push(arr);
    expect(roundTrip(arr)).toEqual([{ $: 'circular', up: 1 }]);
    const m = new Map<any, any>();
    m.set(m, [m]);
    expect(roundTrip(m)).toEqual({
      $: 'map',
      size: 1,
      entries: [[{ $: 'circular', up: 1 }, [{ $: 'circular', up: 2 }]]],
    });
    // A shared (non-circular) reference is encoded twice.
    const shared = { x: 1 };
    expect(roundTrip([shared, shared])).toEqual([
      { $: 'object', class: 'Object', props: { x: 1 } },
      { $: 'object', class: 'Object', props: { x: 1 } },
    ]);
    // Deep cycles terminate even with a large depth bound.
    setBounds(50, 32, 256);
    const c: any = { n: { n: { n: {} } } };
    c.n.n.n.n = c;
    expect(roundTrip(c).props.n.props.n.props.n.props.n).toEqual({ $: 'circular', up: 4 });
  });

  it('cuts containers below the depth bound', () => {
    class Deep {}
    const v = { a: { b: { c: { d: 1 } }, m: new Map(), arr: [[new Deep()]] } };
    expect(roundTrip(v)).toEqual({
      $: 'object',
      class: 'Object',
      props: {
        a: {
          $: 'object',
          class: 'Object',
          props: {
            b: {
              $: 'object',
              class: 'Object',
              props: { c: { $: 'truncated', class: 'Object' } },
            },
            m: { $: 'map', size: 0, entries: [] },
            arr: [{ $: 'truncated', class: 'Array' }],
          },
        },
      },
    });
    setBounds(1, 32, 256);
    expect(roundTrip([new Map(), new Set(), new Deep(), 1, new Date(0)])).toEqual([
      { $: 'truncated', class: 'Map' },
      { $: 'truncated', class: 'Set' },
      { $: 'truncated', class: 'Deep' },
      1,
      { $: 'date', v: 0 },
    ]);
    setBounds(0, 32, 256);
    expect(roundTrip({ a: 1 })).toEqual({ $: 'truncated', class: 'Object' });
  });

  it('a value spends at most the entry budget across all its containers', () => {
    setBounds(3, 4, 256);
    setValueBudget(10);
    const v = { a: [1, 2, 3, 4, 5, 6], b: { x: 1, y: 2, z: 3 }, c: [7, 8] };
    // The root keeps its 3 keys (7 left); a keeps 4 of 6 (items bound; 3 left); b keeps 3 (0 left); c is cut.
    expect(roundTrip(v)).toEqual({
      $: 'object',
      class: 'Object',
      props: {
        a: { $: 'array', length: 6, items: [1, 2, 3, 4] },
        b: { $: 'object', class: 'Object', props: { x: 1, y: 2, z: 3 } },
        c: { $: 'truncated', class: 'Array' },
      },
    });
    // Each top-level value has its own budget.
    expect(roundTrip([1, 2, 3])).toEqual([1, 2, 3]);
    setValueBudget(0);
    expect(roundTrip(v).props.c).toEqual([7, 8]);
    setValueBudget(1024);
    setBounds(3, 32, 256);
  });

  it('writeValueShallow records the class only by default, and setThisDepth(1) one level', () => {
    const self = { x: 1, nested: { y: 2 } };
    expect(roundTrip(self, true)).toEqual({ $: 'truncated', class: 'Object' });
    setThisDepth(1);
    expect(roundTrip(self, true)).toEqual({
      $: 'object',
      class: 'Object',
      props: { x: 1, nested: { $: 'truncated', class: 'Object' } },
    });
    setThisDepth(0);
    // The bound is restored afterwards.
    expect(roundTrip(self).props.nested.props).toEqual({ y: 2 });
  });

  it('grows the arena for a value bigger than the initial arena', () => {
    const initial = arena.buf.length;
    setBounds(3, 100000, 10 * initial);
    resetArena();
    writeValue('prefix');
    const big = 'x'.repeat(3 * initial) + 'é';
    writeValue(big);
    writeValue(Array.from({ length: 50000 }, (_, i) => i));
    expect(arena.buf.length).toBeGreaterThan(initial);
    const r = new Reader(arena.buf, arena.pos);
    expect(r.value()).toBe('prefix');
    expect(r.value()).toBe(big);
    const arr = r.value();
    expect(arr.length).toBe(50000);
    expect(arr[49999]).toBe(49999);
    expect(r.pos).toBe(arena.pos);
  });

  it('appends values one after another at arena.pos', () => {
    resetArena();
    writeValue(1);
    writeVarint(300);
    writeValue('z');
    expect(Array.from(arena.buf.subarray(0, arena.pos))).toEqual([
      0x04, 2, 0xac, 0x02, 0x06, 1, 1, 0x7a,
    ]);
    resetArena();
    expect(arena.pos).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// References: an unchanged object met again in the same arena batch is
// written as a `ref` (0x19) to its earlier encoding. Every check compares
// the decoded value with a full encoding of the same value at the same time.
// ---------------------------------------------------------------------------

describe('references', () => {
  it('an object found unchanged where too little budget is left to refer to it is not a miss: its next captures are references again', () => {
    setValueBudget(40);
    try {
      const t = { a: 1, b: 2, c: 3, d: 4, e: 5 };
      const filler = Array.from({ length: 32 }, (_, i) => i);
      const small = [1, 2];
      // (always one level down, where its memo was made: a patch base)
      for (let i = 0; i < 3; i++) writeValue([t]);
      for (let round = 0; round < 4; round++) {
        // 40 - 3 (the outer array) - 32 - 2: 3 left for t, which spent 5.
        writeValue([filler, small, t]);
        writeValue([t]); // the cut encoding above is not referable: in full
        const start = arena.pos;
        writeValue([t]);
        // (a miss made the encoder skip this check: a full encoding again)
        expect(arena.buf[start + 3]).toBe(0x19);
      }
    } finally {
      setValueBudget(1024);
    }
  });

  /** Encodes `v` (references allowed), then again in full; returns both
   * decodings and whether the first used a reference. */
  function both(v: unknown, shallow = false): { ref: any; full: any; usedRef: boolean; top: number } {
    const { ref, full, refLen, fullLen, start } = encodeBoth(v, shallow);
    const usedRef = arena.buf.subarray(start, start + refLen).includes(0x19) && refLen < fullLen;
    return { ref, full, usedRef, top: arena.buf[start] };
  }

  it('an unchanged object is written as a reference and decodes to the same value', () => {
    const node = { type: 'Identifier', start: 1, end: 4, name: 'foo', loc: { line: 1, column: 2 } };
    // The first encoding only marks the object as seen; the second makes its memo.
    both(node);
    both(node);
    const second = both(node);
    expect(second.usedRef).toBe(true);
    expect(second.ref).toEqual(second.full);
    const start = arena.pos;
    writeValue(node);
    expect(arena.pos - start).toBeLessThanOrEqual(3);
    expect(arena.buf[start]).toBe(0x19);
  });

  it('a changed property, a changed nested property, an added or deleted key: written in full', () => {
    const o: any = { a: 1, inner: { b: 2, list: [1, 2, 3] } };
    both(o);
    o.a = 2;
    let r = both(o);
    expect(r.ref).toEqual(r.full);
    expect(r.ref.props.a).toBe(2);
    o.inner.list.push(4);
    r = both(o);
    expect(r.ref).toEqual(r.full);
    o.inner.b = 'x';
    r = both(o);
    expect(r.ref).toEqual(r.full);
    o.c = true;
    r = both(o);
    expect(r.ref).toEqual(r.full);
    delete o.a;
    r = both(o);
    expect(r.ref).toEqual(r.full);
    expect(r.ref.props).not.toHaveProperty('a');
  });

  it('0 and -0, NaN, and a property turned into an accessor (no getter runs)', () => {
    const o: any = { z: 0, n: NaN };
    both(o);
    o.z = -0;
    let r = both(o);
    expect(Object.is(r.ref.props.z, -0)).toBe(true);
    let ran = 0;
    Object.defineProperty(o, 'z', { get: () => ++ran, enumerable: true, configurable: true });
    r = both(o);
    expect(r.ref).toEqual(r.full);
    expect(r.ref.props.z).toEqual({ $: 'accessor', get: true, set: false });
    both(o);
    r = both(o);
    expect(r.usedRef).toBe(true);
    expect(ran).toBe(0);
  });

  it('a prototype change, and an object that became an ancestor (circular now)', () => {
    class A {}
    class B {}
    const o: any = new A();
    o.x = 1;
    both(o);
    Object.setPrototypeOf(o, B.prototype);
    let r = both(o);
    expect(r.ref.class).toBe('B');
    const child: any = { v: 1 };
    const parent: any = { child };
    both(child);
    child.parent = parent; // child changed
    both(child);
    r = both(parent); // child.parent is now the ancestor: circular
    expect(r.ref).toEqual(r.full);
    expect(JSON.stringify(r.ref)).toContain('circular');
  });

  it('the same object at another depth is only referred to when the encoding would be the same', () => {
    const leaf = { a: 1 };
    const deep = { l1: { l2: { l3: { l4: 1 } } } };
    both(deep);
    both([leaf]);
    let r = both({ x: { y: leaf } });
    expect(r.ref).toEqual(r.full);
    r = both({ wrap: deep });
    expect(r.ref).toEqual(r.full);
    r = both(deep, true);
    expect(r.ref).toEqual(r.full);
  });

  it('an object changed only in primitive properties is written as a patch of its last full encoding', () => {
    const state: any = { input: 'x'.repeat(200), position: 0, line: 1, flag: true, kind: null, result: { a: 1 }, list: [1, 2] };
    both(state);
    both(state); // the memo and the patch base
    for (let i = 1; i < 40; i++) {
      state.position = i;
      if (i % 5 === 0) state.line++;
      if (i === 7) state.kind = 'scalar';
      if (i === 9) state.flag = 0;
      if (i === 11) state.position = -0;
      if (i === 13) state.position = NaN;
      if (i === 15) state.kind = Symbol('k');
      if (i === 17) state.kind = 10n;
      if (i === 19) state.kind = undefined;
      if (i === 21) state.kind = function named() {};
      const start = arena.pos;
      writeValue(state);
      const len = arena.pos - start;
      expect(arena.buf[start]).toBe(0x1a);
      // Far smaller than the 200-character string alone.
      expect(len).toBeLessThan(40);
      const r = new Reader(arena.buf, arena.pos);
      r.pos = start;
      const got = r.value();
      const full = both(state).full;
      expect(got).toEqual(full);
    }
    // A changed container, a new key: written in full (and a new base).
    state.result = { a: 2 };
    let r = both(state);
    expect(r.ref).toEqual(r.full);
    state.extra = 1;
    r = both(state);
    expect(r.ref).toEqual(r.full);
    expect(r.ref.props.extra).toBe(1);
    // Unchanged after a patch: a ref to the patch.
    state.position = 1000;
    both(state);
    const start = arena.pos;
    writeValue(state);
    expect(arena.buf[start]).toBe(0x19);
    const rd = new Reader(arena.buf, arena.pos);
    rd.pos = start;
    expect(rd.value().props.position).toBe(1000);
  });

  it('a patched object inside another object: the outer one is written again, not referred to with stale bytes', () => {
    const inner: any = { n: 0, s: 'a' };
    const outer: any = { inner, tag: 'o' };
    both(outer);
    both(outer);
    for (let i = 1; i < 10; i++) {
      inner.n = i;
      const r = both(outer);
      expect(r.ref).toEqual(r.full);
      expect(r.ref.props.inner.props.n).toBe(i);
      const r2 = both(inner);
      expect(r2.ref).toEqual(r2.full);
    }
  });

  for (const trust of [false, true]) it(`a grandchild mutated between captures is noticed, through an unchanged child, a patched parent and a reference${trust ? ' (trusted objects, plain reads)' : ''}`, () => {
    // The check of an unchanged child reaches the grandchild's memo through
    // the child's memo: every kind of change to the grandchild must still
    // make the parent's reference or patch read back as its full encoding.
    if (trust) expect(installDefiners(untrust)).toBe(true);
    setTrust(trust);
    let ran = 0;
    const getter = (): number => ++ran;
    const g: any = { x: 1, s: 'a' };
    const ga: any[] = [1, { y: 1 }, 'z'];
    const gm = new Map<unknown, unknown>([['k', 1]]);
    const gs = new Set<unknown>([1, 2]);
    const child: any = { g, ga, gm, gs, n: 0 };
    const sib: any = { g, v: 1 };
    const top: any = { child, sib, pos: 0, t: 'top' };
    const mutations: Array<() => void> = [
      () => (g.x = 2),
      () => (g.x = -0),
      () => (g.x = NaN),
      () => (g.s = 'b'),
      () => (g.added = true),
      () => delete g.added,
      () => delete g.s,
      () => (g.s = 'a'),
      () => Object.defineProperty(g, 'x', { get: getter, enumerable: true, configurable: true }),
      () => Object.defineProperty(g, 'x', { value: 3, writable: true, enumerable: true, configurable: true }),
      () => Object.setPrototypeOf(g, null),
      () => Object.setPrototypeOf(g, Object.prototype),
      () => (ga[0] = 2),
      () => ga.push(4),
      () => (ga.length = 2),
      () => (ga[5] = 1), // holes
      () => (ga[1] = g),
      () => (ga[1].x = 7),
      () => gm.set('k', 2),
      () => gm.set('k2', g),
      () => gm.delete('k'),
      () => gs.add(3),
      () => gs.delete(1),
      () => (child.g = { x: 1, s: 'a' }),
      () => (child.g.x = 9),
    ];
    const capture = (v: unknown): void => {
      const r = both(v);
      expect(r.ref).toEqual(r.full);
    };
    // Memos for all (the first capture only marks objects as seen).
    for (let i = 0; i < 3; i++) capture(top);
    let refs = 0;
    for (let i = 0; i < mutations.length; i++) {
      for (const patchParent of [false, true]) {
        if (patchParent) top.pos++;
        mutations[i]();
        capture(top);
        // Unchanged since: a reference, which must still read back right.
        const r = both(top);
        if (r.usedRef) refs++;
        expect(r.ref).toEqual(r.full);
        capture(child);
        capture(sib);
      }
    }
    expect(refs).toBeGreaterThan(mutations.length);
    expect(ran).toBe(0);
    setTrust(false);
  });

  it('objects of a shape met once each are not all marked as seen; one that comes back is still referred to after a few captures', () => {
    // 500 fresh objects of one shape, each captured once: their marks almost
    // never pay, so the encoder marks only some (Plan.marked).
    for (let i = 0; i < 500; i++) {
      const r = both({ fa: i, fb: 'x' });
      expect(r.ref).toEqual(r.full);
      expect(r.usedRef).toBe(false);
    }
    // One of that shape that comes back: written in full (as without
    // references) until it is marked, then referred to.
    const back = { fa: -1, fb: 'y' };
    let firstRef = -1;
    for (let i = 0; i < 40 && firstRef < 0; i++) {
      const r = both(back);
      expect(r.ref).toEqual(r.full);
      if (r.usedRef) firstRef = i;
    }
    expect(firstRef).toBeGreaterThan(2);
    expect(firstRef).toBeLessThan(20);
    // Objects of the shape now come back: once enough of the marked ones
    // did, every one is marked again.
    let refs = 0;
    for (let k = 0; k < 400; k++) {
      const o = { fa: k, fb: 'z' };
      both(o);
      both(o);
      const r = both(o);
      expect(r.ref).toEqual(r.full);
      if (k >= 300 && r.usedRef) refs++;
    }
    expect(refs).toBe(100);
  });

  it('compiled checks of a trusted shape: a deleted, added or reordered key is noticed before any value is read (no prototype getter runs), and so is a prototype change', () => {
    expect(installDefiners(untrust)).toBe(true);
    setTrust(true);
    try {
      let ran = 0;
      class P {
        a = 1;
        b = 'x';
        c: unknown = null;
      }
      // A getter on the prototype under an own key's name: reading the key
      // after it was deleted from the object would run it.
      Object.defineProperty(P.prototype, 'b', { get: () => ++ran, configurable: true });
      const objs: any[] = [];
      for (let i = 0; i < 40; i++) objs.push(new P());
      const holder: any = { objs: objs.slice(0, 8), n: 0 };
      const capture = (v: unknown): void => {
        const r = both(v);
        // (key order included)
        expect(JSON.stringify(r.ref)).toBe(JSON.stringify(r.full));
      };
      // Memos, trust and compiled readers for the shape (more than 16 uses).
      for (let k = 0; k < 4; k++) for (const o of objs) capture(o);
      for (let k = 0; k < 3; k++) capture(holder);
      const changes: Array<(o: any) => void> = [
        (o) => delete o.b,
        (o) => (o.b = 'back'), // re-added: now last
        (o) => (o.z = 1),
        (o) => delete o.z,
        (o) => (o[0] = 'int key first'),
        (o) => {
          // Same key count, one key replaced by another.
          delete o.b;
          o.d = 2;
        },
        // Same keys, another prototype (another class name).
        (o) => Object.setPrototypeOf(o, Object.prototype),
        (o) => Object.setPrototypeOf(o, null),
      ];
      for (let i = 0; i < changes.length; i++) {
        const o = objs[i];
        changes[i](o);
        holder.n++;
        capture(holder); // a patch: its objs entry checked element by element
        capture(o); // a reference or a full encoding
        capture(o);
      }
      expect(ran).toBe(0);
    } finally {
      setTrust(false);
    }
  });

  it('compiled checks of plain and null-prototype shapes (keys listed by for-in): key changes, integer keys and enumerable keys or getters on Object.prototype are noticed, no getter runs', () => {
    expect(installDefiners(untrust)).toBe(true);
    setTrust(true);
    // Getter calls counted while the encoder runs (the test's own
    // assertions may read the enumerable getter below).
    let ran = 0;
    let encoding = false;
    const hit = (): number => (encoding ? ++ran : 0);
    // A getter on Object.prototype under an own key's name: reading the key
    // after it was deleted from a plain object would run it.
    // (its setter defines an own property, as an assignment would without
    // it: the test's reader assigns decoded keys)
    Object.defineProperty(Object.prototype, 'b', {
      get: hit,
      set(this: object, v: unknown) {
        Object.defineProperty(this, 'b', { value: v, writable: true, enumerable: true, configurable: true });
      },
      configurable: true,
    });
    try {
      for (const make of [() => ({ a: 1, b: 'x', c: null as unknown }), () => Object.assign(Object.create(null), { a: 1, b: 'x', c: null })]) {
        const objs: any[] = [];
        for (let i = 0; i < 40; i++) objs.push(make());
        const holder: any = { objs: objs.slice(0, 12), n: 0 };
        const capture = (v: unknown): void => {
          const start = arena.pos;
          encoding = true;
          writeValue(v);
          const mid = arena.pos;
          writeValueFull(v);
          encoding = false;
          const r1 = new Reader(arena.buf, mid);
          r1.pos = start;
          const ref = JSON.stringify(r1.value());
          const r2 = new Reader(arena.buf, arena.pos);
          r2.pos = mid;
          expect(ref).toBe(JSON.stringify(r2.value()));
        };
        for (let k = 0; k < 4; k++) for (const o of objs) capture(o);
        for (let k = 0; k < 3; k++) capture(holder);
        const changes: Array<(o: any) => void> = [
          (o) => delete o.b,
          // re-added, now last (a plain assignment would reach the getter's prototype)
          (o) => Object.defineProperty(o, 'b', { value: 'back', writable: true, enumerable: true, configurable: true }),
          (o) => (o.z = 1),
          (o) => delete o.z,
          (o) => (o[0] = 'int key first'),
          (o) => {
            delete o.b;
            o.d = 2;
          },
          (o) => {
            // Same keys, another order.
            const c = o.c;
            delete o.c;
            delete o.a;
            o.c = c;
            o.a = 1;
          },
          (o) => (o.a = { inner: true }),
        ];
        for (let i = 0; i < changes.length; i++) {
          const o = objs[i];
          changes[i](o);
          holder.n++;
          capture(holder);
          capture(o);
          capture(o);
        }
        // Enumerable keys on Object.prototype: for-in lists them after the
        // own keys (a plain object's check fails, and it is written in full
        // with its own keys only); then gone again.
        (Object.prototype as any).zz = 1;
        Object.defineProperty(Object.prototype, 'zg', {
          get: hit,
          set(this: object, v: unknown) {
            Object.defineProperty(this, 'zg', { value: v, writable: true, enumerable: true, configurable: true });
          },
          enumerable: true,
          configurable: true,
        });
        try {
          for (let k = 0; k < 3; k++) {
            holder.n++;
            capture(holder);
            for (const o of objs.slice(20, 30)) capture(o);
          }
        } finally {
          delete (Object.prototype as any).zz;
          delete (Object.prototype as any).zg;
        }
        for (let k = 0; k < 3; k++) {
          holder.n++;
          capture(holder);
          for (const o of objs.slice(20, 30)) capture(o);
        }
      }
      expect(ran).toBe(0);
    } finally {
      delete (Object.prototype as any).b;
      setTrust(false);
    }
  });

  it('a key deleted from a plain object while Object.prototype has an enumerable key of that name is noticed, and its getter never runs', () => {
    // A key check that lists keys by for-in sees Object.prototype's
    // enumerable keys after the own ones: an own key deleted from the end
    // of the key list comes back from the prototype under the same name and
    // place, and a plain read would read the prototype's value (or run its
    // getter). Object.keys lists own keys only.
    expect(installDefiners(untrust)).toBe(true);
    setTrust(true);
    let ran = 0;
    let encoding = false;
    const hit = (): number => (encoding ? ++ran : 7);
    const proto = Object.prototype as any;
    try {
      const withC: any[] = [];
      const withD: any[] = [];
      for (let i = 0; i < 40; i++) {
        withC.push({ a: i, b: 'x', c: null });
        withD.push({ a: i, b: 'y', d: 7 });
      }
      const holder: any = { c: withC.slice(0, 8), d: withD.slice(0, 8), n: 0 };
      // (getter calls counted while encoding only: the reader's own
      // assignments go through the setter)
      const capture = (v: unknown): void => {
        const start = arena.pos;
        encoding = true;
        writeValue(v);
        const mid = arena.pos;
        writeValueFull(v);
        encoding = false;
        const r1 = new Reader(arena.buf, mid);
        r1.pos = start;
        const r2 = new Reader(arena.buf, arena.pos);
        r2.pos = mid;
        expect(JSON.stringify(r1.value())).toBe(JSON.stringify(r2.value()));
      };
      // Memos, trust and the shapes' compiled readers (more than 16 uses).
      for (let k = 0; k < 4; k++) for (const o of [...withC, ...withD]) capture(o);
      for (let k = 0; k < 3; k++) {
        holder.n++;
        capture(holder);
      }
      // One enumerable key on Object.prototype at a time (with two, for-in
      // would list one more key than the shape has): first a data key by
      // assignment (no definer is called) holding the value the deleted own
      // key had, then an enumerable getter (through a definer on
      // Object.prototype, not on the objects).
      const after = (): void => {
        for (let k = 0; k < 3; k++) {
          holder.n++;
          capture(holder);
          for (const i of [0, 3, 20]) {
            capture(withC[i]);
            capture(withD[i]);
          }
        }
      };
      proto.c = null;
      for (const i of [0, 3, 20]) delete withC[i].c;
      after();
      delete proto.c;
      for (const i of [0, 3, 20]) withC[i].c = null;
      after();
      // (its setter defines an own property, as an assignment would: the
      // test's reader assigns decoded keys)
      Object.defineProperty(Object.prototype, 'd', {
        get: hit,
        set(this: object, v: unknown) {
          Object.defineProperty(this, 'd', { value: v, writable: true, enumerable: true, configurable: true });
        },
        enumerable: true,
        configurable: true,
      });
      for (const i of [0, 3, 20]) delete withD[i].d;
      after();
      expect(ran).toBe(0);
    } finally {
      delete proto.c;
      delete proto.d;
      setTrust(false);
    }
  });

  it('a prototype change of a trusted object with compiled readers, below an unchanged object, is noticed (with keys, and with none)', () => {
    expect(installDefiners(untrust)).toBe(true);
    setTrust(true);
    try {
      class Q {
        a = 1;
        b = 'x';
      }
      // (no own key: the compiled check compares the prototype at its end)
      class E {}
      for (const make of [() => new Q(), () => new E(), () => ({})]) {
        const Proto = Object.getPrototypeOf(make());
        // Memos, trust and compiled readers for the shape (more than 16 uses).
        const warm: any[] = [];
        for (let i = 0; i < 40; i++) warm.push(make());
        for (let k = 0; k < 3; k++) for (const o of warm) both(o);
        for (const proto of [Object.prototype, null, Q.prototype, Proto]) {
          const g = warm.pop();
          const child = { g, k: 1 };
          const top = { child, n: 0 };
          for (let i = 0; i < 4; i++) {
            top.n++;
            both(top);
          }
          Object.setPrototypeOf(g, proto);
          top.n++;
          const r = both(top);
          expect(JSON.stringify(r.ref)).toBe(JSON.stringify(r.full));
          const r2 = both({ child, n: -1 });
          expect(JSON.stringify(r2.ref)).toBe(JSON.stringify(r2.full));
          // Met at the top level: its compiled diff compares the prototype.
          const g2 = warm.pop();
          for (let i = 0; i < 3; i++) both(g2);
          Object.setPrototypeOf(g2, proto);
          const r3 = both(g2);
          expect(JSON.stringify(r3.ref)).toBe(JSON.stringify(r3.full));
        }
      }
    } finally {
      setTrust(false);
    }
  });

  it('an array of verified objects, checked element by element by their compiled checks from the array\'s own check: every change between captures is noticed, and an unchanged array is a reference again (check18)', () => {
    expect(installDefiners(untrust)).toBe(true);
    setTrust(true);
    try {
      let ran = 0;
      class Other {}
      // js-yaml's parser keeps its events so: 11 keys, primitives, appended
      // to one array that every call's state holds.
      const ev = (i: number): any => ({ type: 4, valueStart: i * 10, valueEnd: i * 10 + 5, anchorStart: -1, anchorEnd: -1, tagStart: -1, tagEnd: -1, style: 1, chomping: 0, indent: NaN, fast: true });
      const changes: Array<(a: any[]) => void> = [
        (a) => (a[3].valueEnd = 99),
        (a) => (a[4].chomping = -0), // 0 and -0 are === but encode differently
        (a) => (a[5].indent = 7),
        (a) => (a[6].fast = 'yes'),
        (a) => (a[7].extra = 1), // an added key
        (a) => delete a[8].style, // a deleted key
        (a) => Object.defineProperty(a[9], 'style', { get: () => ++ran, enumerable: true, configurable: true }),
        (a) => Object.setPrototypeOf(a[10], Other.prototype),
        (a) => Object.setPrototypeOf(a[11], null),
        (a) => (a[12] = ev(77)), // an element replaced
        (a) => (a[13].type = { nested: 1 }),
        (a) => (a[13].type.nested = 2), // a change below an element
        (a) => a.push(ev(99)), // grown
        (a) => a.pop(),
        (a) => (a[31] = undefined), // then a hole
        (a) => delete a[31],
      ];
      // Memos, trust and compiled readers for the shape (more than 16 uses).
      const warm: any[] = Array.from({ length: 40 }, (_, i) => ev(i));
      for (let k = 0; k < 3; k++) for (const o of warm) both(o);
      for (const top of [false, true]) {
        const a = Array.from({ length: 32 }, (_, i) => ev(i));
        // At the top, and one level down in a state object (the array is
        // then checked by the state's diff: a patch of the state).
        const state = { position: 0, events: a };
        // (-0 told from 0)
        const json = (v: unknown): string => JSON.stringify(v, (_k, x) => (Object.is(x, -0) ? '-0' : x));
        // Both decodings, and whether the first encoding was short (a
        // reference, or a patch of the state that holds one).
        const capture = (): { full: any; short: boolean } => {
          state.position++;
          const v = top ? a : state;
          const { ref, full, refLen, fullLen } = encodeBoth(v);
          expect(json(ref)).toBe(json(full));
          return { full, short: refLen * 4 < fullLen };
        };
        for (let i = 0; i < 4; i++) capture();
        expect(capture().short).toBe(true);
        for (const change of changes) {
          const before = json(capture().full);
          change(a);
          // (the change is in what was written: it was noticed)
          expect(json(capture().full), String(change)).not.toBe(before);
          // Unchanged again: a reference, or a patch of the state.
          capture();
          expect(capture().short).toBe(true);
        }
      }
      expect(ran).toBe(0);
    } finally {
      setTrust(false);
    }
  });

  it('an array, map or set whose size changed is written in full without counting a miss: at the next capture, unchanged, it is a reference (check18)', () => {
    const objs = Array.from({ length: 40 }, (_, i) => ({ a: i, b: 'x' }));
    // (met twice: memos, so that a container holding them is referable)
    for (let k = 0; k < 2; k++) for (const o of objs) writeValue(o);
    const cases: Array<[unknown, () => void]> = [];
    const a: unknown[] = objs.slice(0, 8);
    cases.push([a, () => a.push(objs[a.length])]);
    const m = new Map<unknown, unknown>(objs.slice(0, 8).map((o, i) => [i, o]));
    cases.push([m, () => m.set(m.size, objs[m.size])]);
    const st = new Set<unknown>(objs.slice(0, 8));
    cases.push([st, () => st.add(objs[st.size])]);
    for (const [c, grow] of cases) {
      for (let i = 0; i < 4; i++) writeValue(c);
      for (let round = 0; round < 5; round++) {
        grow();
        writeValue(c); // in full: it grew
        const start = arena.pos;
        writeValue(c);
        // (counted as a miss, the check would have been skipped: in full)
        expect(arena.buf[start]).toBe(0x19);
      }
    }
  });

  it('a known object whose prototype becomes WeakRef.prototype or FinalizationRegistry.prototype is written opaque, at the top and where it would be cut', () => {
    for (const P of [WeakRef.prototype, FinalizationRegistry.prototype]) {
      const cls = P === WeakRef.prototype ? 'WeakRef' : 'FinalizationRegistry';
      const o = { a: 1, b: 'x' };
      const nested = { l1: { l2: { o } } };
      // Memos (met more than twice), at the top and below the depth bound.
      for (let i = 0; i < 20; i++) {
        both(o);
        both(nested);
      }
      Object.setPrototypeOf(o, P);
      const top = both(o);
      expect(top.ref).toEqual({ $: 'opaque', class: cls });
      expect(top.full).toEqual({ $: 'opaque', class: cls });
      // (depth 3: o is the fourth level, where a container is truncated;
      // met there in new containers, which are written in full)
      const r = both({ l1: { l2: { o } } });
      expect(r.ref.props.l1.props.l2.props.o).toEqual({ $: 'opaque', class: cls });
      expect(JSON.stringify(r.ref)).toBe(JSON.stringify(r.full));
    }
  });

  it('a container cut by the depth bound whose prototype changed is written with its new class name, in a reference and in a patch (every way to change a prototype; the wrapped setters watched and not)', () => {
    class Foo {}
    class Bar extends Array {}
    class MyMap extends Map {}
    class MySet extends Set {}
    // The prototype setters are wrapped with the definers (js/runtime/definers.ts).
    expect(installDefiners(untrust)).toBe(true);
    const ways: [string, (o: object, p: object) => void][] = [
      ['Object.setPrototypeOf', (o, p) => Object.setPrototypeOf(o, p)],
      ['Reflect.setPrototypeOf', (o, p) => expect(Reflect.setPrototypeOf(o, p)).toBe(true)],
      ['__proto__ assignment', (o, p) => ((o as any).__proto__ = p)],
      ['Reflect.set __proto__', (o, p) => expect(Reflect.set(o, '__proto__', p)).toBe(true)],
      ['Object.assign with an own __proto__', (o, p) => Object.assign(o, Object.defineProperty({}, '__proto__', { value: p, enumerable: true }))],
      ['a saved __proto__ setter', (o, p) => Object.getOwnPropertyDescriptor(Object.prototype, '__proto__')!.set!.call(o, p)],
    ];
    const kinds: [string, () => object, object, string][] = [
      ['object', () => ({ a: 1 }), Foo.prototype, 'Foo'],
      ['array', () => [1, 2], Bar.prototype, 'Bar'],
      ['map', () => new Map([[1, 2]]), MyMap.prototype, 'MyMap'],
      ['set', () => new Set([1]), MySet.prototype, 'MySet'],
    ];
    try {
      for (const watched of [true, false]) {
        setProtoWatch(watched);
        for (const [way, set] of ways) {
          for (const [kind, make, proto, cls] of kinds) {
            for (const patched of [false, true]) {
              const o = make();
              // (depth 3: o is the fourth level, where a container is truncated)
              const l2 = { o, n: 0 };
              const nested = { l1: { l2 } };
              for (let i = 0; i < 10; i++) both(nested);
              expect(both(nested).usedRef).toBe(true);
              set(o, proto);
              if (patched) l2.n++;
              const r = both(nested);
              const label = `${way}, ${kind}${patched ? ', patched' : ''}${watched ? '' : ', not watched'}`;
              expect(r.full.props.l1.props.l2.props.o, label).toEqual({ $: 'truncated', class: cls });
              expect(JSON.stringify(r.ref), label).toBe(JSON.stringify(r.full));
              // and referred to again afterwards
              for (let i = 0; i < 3; i++) both(nested);
              const again = both(nested);
              expect(again.usedRef, label).toBe(true);
              expect(JSON.stringify(again.ref), label).toBe(JSON.stringify(again.full));
            }
          }
        }
      }
    } finally {
      setProtoWatch(true);
    }
  });

  it('maps and sets: referred to while unchanged, written again after any change', () => {
    const inner = { v: 1 };
    const m = new Map<unknown, unknown>([['a', 1], [inner, 'obj'], ['b', inner]]);
    const st = new Set<unknown>([1, 'x', inner]);
    const holder = { m, st, n: 0 };
    both(holder);
    both(holder);
    let r = both(holder);
    expect(r.usedRef).toBe(true);
    expect(r.ref).toEqual(r.full);
    const steps: Array<() => void> = [
      () => m.set('a', 2),
      () => m.set('c', 3),
      () => m.delete('a'),
      () => m.set('a', 1), // back, now last in iteration order
      () => (inner.v = 2), // inside a key and a value
      () => st.add(2),
      () => st.delete('x'),
      () => (holder.n = 1),
      () => m.clear(),
    ];
    for (const step of steps) {
      step();
      r = both(holder);
      expect(r.ref).toEqual(r.full);
      r = both(holder);
      expect(r.ref).toEqual(r.full);
      expect(r.usedRef).toBe(true);
    }
    // A map that contains itself.
    const self = new Map<unknown, unknown>();
    self.set('me', self);
    both(self);
    both(self);
    r = both(self);
    expect(r.ref).toEqual(r.full);
  });

  it('maps and sets inside maps and sets, and past the kept entries: checked entry by entry (decisions.md 60)', () => {
    // A map's or set's check walks its kept entries; a walk inside a walk
    // (a map holding maps) must keep its own place (decisions.md 60 built
    // one with forEach and measured it: not taken).
    const leaf = { v: 1 };
    const innerA = new Map<unknown, unknown>([['x', leaf], ['y', 2]]);
    const innerB = new Set<unknown>([leaf, 'q', innerA]);
    const outer = new Map<unknown, unknown>([['a', innerA], ['b', innerB], ['c', 1], [innerA, 'key']]);
    const big = new Map<unknown, unknown>(Array.from({ length: 40 }, (_, i) => [i, i % 5 === 0 ? innerA : i]));
    const huge = new Map<unknown, unknown>(Array.from({ length: 100 }, (_, i) => [i, i]));
    const bigSet = new Set<unknown>(Array.from({ length: 40 }, (_, i) => (i === 3 ? innerB : i)));
    const holder = { outer, big, huge, bigSet, n: 0 };
    both(holder);
    both(holder);
    let r = both(holder);
    expect(r.top).toBe(0x19); // the whole holder a reference
    expect(r.ref).toEqual(r.full);
    const steps: Array<() => void> = [
      () => innerA.set('y', 3), // below outer, big and bigSet
      () => outer.set('c', 2), // after an unchanged map below outer
      () => (leaf.v = 2), // below every walk
      () => innerB.delete('q'),
      () => innerB.add('q'),
      () => big.set(31, 'last kept'),
      () => big.set(35, 'not kept'), // past the kept entries: the same value
      () => huge.set(31, 'last kept'),
      () => huge.set(99, 'not kept'),
      () => bigSet.delete(31),
      () => bigSet.add(31), // now last: past the kept values
      () => bigSet.delete(0),
      () => bigSet.add(0),
      () => big.delete(0), // 39 entries
      () => big.set(0, 0), // 40 again, 0 now last
      () => outer.delete('a'),
      () => outer.set('a', innerA),
      () => {
        // the size at twice the kept count, then one past it
        for (let i = 40; i < 64; i++) big.set(i, i);
      },
      () => big.set(64, 64),
      () => big.delete(64),
      () => big.set(1, 'changed at 64'),
    ];
    for (const step of steps) {
      step();
      // Written again (in full or as a patch) after the change, then a
      // reference once the checks find everything unchanged (a change seen
      // several times in a row spaces the checks out: a few captures).
      let captures = 0;
      do {
        r = both(holder);
        expect(r.ref).toEqual(r.full);
      } while (r.top !== 0x19 && ++captures < 12);
      expect(r.top).toBe(0x19);
    }
  });

  it('a patch whose entries hold patches of their own', () => {
    const y: any = { next: null, a: 'y', b: 2, c: 3 };
    const x: any = { next: y, a: 1, b: 'x', c: 4 };
    both(x);
    both(x);
    both(x);
    const work = encoderWork[4];
    for (let i = 0; i < 6; i++) {
      y.a = 'y' + i;
      x.a = i;
      if (i === 3) x.next = { next: y, a: 0, b: 0, c: 0 };
      const r = both(x);
      expect(r.ref).toEqual(r.full);
      expect(r.top).toBe(0x1a);
    }
    expect(encoderWork[4] - work).toBeGreaterThan(6);
  });

  it('a patch that the budget left would cut is written in full instead', () => {
    // inner changes with a: written inside the patch that is discarded.
    const x: any = { inner: { k: 1, z: 'z', q: true }, a: 1, list: Array.from({ length: 20 }, (_, i) => i), m: new Map([[1, 2]]) };
    const w = [Array.from({ length: 30 }, (_, i) => 'p' + i), x];
    setValueBudget(1024);
    both(w);
    both(w);
    x.a = 2;
    let r = both(w);
    expect(r.ref).toEqual(r.full);
    const work = encoderWork[4];
    x.a = 3;
    x.inner.k = 3;
    r = both(w);
    expect(r.ref).toEqual(r.full);
    expect(encoderWork[4] - work).toBe(2); // x and inner, patched
    setValueBudget(40);
    try {
      x.a = 4;
      x.inner.k = 4;
      r = both(w);
      expect(r.ref).toEqual(r.full);
      expect(r.ref[1].props.list.$).toBe('array'); // cut by the budget
      x.a = 5;
      r = both(w);
      expect(r.ref).toEqual(r.full);
    } finally {
      setValueBudget(1024);
    }
    x.a = 6;
    r = both(w);
    expect(r.ref).toEqual(r.full);
    expect(r.ref[1].props.list).toHaveLength(20);
  });

  it('no reference survives an arena reset', () => {
    const o = { a: 1 };
    writeValue(o);
    resetArena();
    const start = arena.pos;
    writeValue(o);
    expect(arena.buf[start]).toBe(0x0b);
  });

  it('a container checked twice in one value: the first check stands while no container pushed since is open, not after', () => {
    const a: any = { tag: 'a', inner: { n: 1 } };
    const list = [1, 2, 3];
    const s: any = { list, n: 0 };
    for (let i = 0; i < 3; i++) {
      both({ a });
      both([s]);
    }
    // `a` and `s` checked again and again under the same open containers
    // (the later checks take the first one's answer).
    let r = both({ x: a, y: a, z: [s, s, { w: [s] }], t: [s] });
    expect(r.ref).toEqual(r.full);
    expect(r.usedRef).toBe(true);
    // Mutated between two values: checked again, not taken from the last value.
    s.n = 1;
    list.push(4);
    a.inner.n = 2;
    r = both({ x: s, y: [s], z: a, w: { a } });
    expect(r.ref).toEqual(r.full);
    expect(r.ref.props.x.props.list).toEqual([1, 2, 3, 4]);
    expect(r.ref.props.z.props.inner.props.n).toBe(2);
  });

  it('a top-level object patched again and again: entries written in every patch (pmask) are referred to after the diff\'s check, and read back exactly, also when they reach the object itself', () => {
    const types = Array.from({ length: 6 }, (_, i) => ({ tag: `t${i}`, kind: 'scalar', n: i }));
    const schema: any = { types, byTag: new Map(types.map((t) => [t.tag, t])), name: 'core' };
    const state: any = { position: 0, schema, frames: [{ kind: 'doc' }], back: null };
    const work0 = encoderWork[1];
    for (let i = 0; i < 12; i++) {
      state.position = i;
      // Changed once: from then on written in every patch of the base.
      if (i === 3) state.schema = schema;
      if (i === 4) state.frames = [{ kind: 'doc' }, { kind: 'seq' }];
      // An entry whose contents reach the state (a parent pointer).
      if (i === 6) state.back = { owner: state };
      if (i === 8) types[2].n = 99; // a change deep below an entry written in every patch
      if (i === 10) schema.byTag.set('x', types[0]);
      const r = both(state);
      expect(r.ref).toEqual(r.full);
      expect(r.ref.props.position).toBe(i);
    }
    expect(encoderWork[1]).toBeGreaterThan(work0);
  });

  for (const kind of ['arrays', 'objects (patch bases)'] as const) it(`a container checked again below a container opened after its first check is checked again (it may now hold an ancestor): ${kind}`, () => {
    // f -> g -> k -> f, depth 4: f's encoding at depth 2 holds g and k
    // (k cut by the depth bound), and is referable at depth 2.
    setBounds(4, 32, 256);
    const arrays = kind === 'arrays';
    const f: any = arrays ? [] : {};
    const g: any = arrays ? [] : {};
    const k: any = arrays ? [f] : { f };
    if (arrays) {
      f.push(g);
      g.push(k);
    } else {
      f.g = g;
      g.k = k;
    }
    for (let i = 0; i < 3; i++) both([[f]]);
    // f is checked at [0][0] (k is no ancestor: a reference), then k is
    // opened at [1] and f met again at [1][0]: k is now an ancestor of
    // that position, so f must be written with k as `circular`, not as a
    // reference to its encoding with k cut.
    const r = both([[f], k]);
    expect(r.ref).toEqual(r.full);
    expect(JSON.stringify(r.ref[1])).toContain('circular');
    expect(r.usedRef).toBe(true);
  });

  for (const [trust, memoKib] of [[false, 1024], [true, 1024], [false, 4], [true, 4]] as const) it(`differential: random object graphs mutated between captures decode the same with and without references${trust ? ', trusted objects read with plain reads' : ''}${memoKib < 1024 ? `, a ${memoKib} KiB memo budget (memos dropped again and again)` : ''}`, () => {
    // Trust: the definers of this realm are wrapped (js/runtime/definers.ts),
    // as the preload does; every accessor defined below goes through them.
    if (trust) expect(installDefiners(untrust)).toBe(true);
    setTrust(trust);
    setMemoBudget(memoKib * 1024);
    const gens0 = encoderWork[5];
    const work0 = encoderWork[3];
    let ran = 0;
    const getter = (): number => ++ran;
    const setter = (_: unknown): void => {};
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    class Node {
      constructor(public kind: string) {}
    }
    class MyArray extends Array {}
    class MyMap extends Map {}
    class MySet extends Set {}
    // A prototype change, by one of the three setters (a container cut by
    // the depth bound is written with its class name).
    const setProto = (o: object, p: object): void => {
      const how = rnd(3);
      if (how === 0) Object.setPrototypeOf(o, p);
      else if (how === 1) Reflect.setPrototypeOf(o, p);
      else (o as any).__proto__ = p;
    };
    const pool: any[] = [];
    for (let i = 0; i < 40; i++) {
      const t = rnd(4);
      pool.push(t === 0 ? [] : t === 1 ? new Node('n' + i) : t === 2 ? Object.create(null) : {});
    }
    // Objects of primitives changed in place (patches).
    for (let i = 0; i < 10; i++) pool.push({ next: null, a: i, b: 'x' + i, c: true });
    // Maps and sets (referable since the fourth round), at the end of the pool.
    for (let i = 0; i < 6; i++) pool.push(i % 2 === 0 ? new Map<unknown, unknown>([['k', i]]) : new Set<unknown>([i]));
    const prim = (): unknown => [0, -0, 1, 'a', 'b', null, undefined, true, NaN, 1.5, 2 ** 40][rnd(11)];
    const keys = ['a', 'b', 'c', 'password', 'type', 'value', 'next'];
    let refs = 0;
    let patches = 0;
    const patches0 = encoderWork[4];
    for (let step = 0; step < 4000; step++) {
      const o = pool[rnd(pool.length)];
      const what = rnd(10);
      if (o instanceof Map) {
        const key = rnd(2) ? keys[rnd(keys.length)] : pool[rnd(pool.length)];
        if (what < 5) o.set(key, rnd(2) ? prim() : pool[rnd(pool.length)]);
        else if (what < 7) o.delete(key);
        else if (what < 8) o.clear();
        else if (what < 9) setProto(o, rnd(2) ? MyMap.prototype : Map.prototype);
      } else if (o instanceof Set) {
        const v = rnd(2) ? prim() : pool[rnd(pool.length)];
        if (what < 5) o.add(v);
        else if (what < 7) o.delete(v);
        else if (what < 8) o.clear();
        else if (what < 9) setProto(o, rnd(2) ? MySet.prototype : Set.prototype);
      } else if (pool.indexOf(o) >= 40) {
        if (what < 5) o[keys[rnd(3)]] = prim();
        else if (what < 6) o.next = pool[40 + rnd(16)];
        else if (what < 7) o.next = pool[rnd(pool.length)];
      } else if (Array.isArray(o)) {
        if (what < 4) o.push(rnd(2) ? prim() : pool[rnd(pool.length)]);
        else if (what < 6 && o.length > 0) o[rnd(o.length)] = rnd(2) ? prim() : pool[rnd(pool.length)];
        else if (what < 7) o.length = rnd(o.length + 1);
        else if (what < 8) o[o.length + rnd(3)] = 1; // holes
        else if (what < 9) setProto(o, rnd(2) ? MyArray.prototype : Array.prototype);
      } else {
        const k = keys[rnd(keys.length)];
        const value = rnd(2) ? prim() : pool[rnd(pool.length)];
        if (what < 5) Object.defineProperty(o, k, { value, writable: true, enumerable: true, configurable: true });
        else if (what < 6) delete o[k];
        else if (what < 7) {
          const how = rnd(5);
          if (how === 0) Object.defineProperty(o, k, { get: getter, enumerable: true, configurable: true });
          else if (how === 1) Object.defineProperties(o, { [k]: { get: getter, set: setter, enumerable: true, configurable: true } });
          else if (how === 2) Reflect.defineProperty(o, k, { get: getter, enumerable: true, configurable: true });
          else if (how === 3) Object.prototype.__defineGetter__.call(o, k, getter);
          else Object.prototype.__defineSetter__.call(o, k, setter);
        } else if (what < 8) {
          // (a null-prototype object gets no __proto__ setter: an own key)
          if (Object.getPrototypeOf(o) === null) Object.setPrototypeOf(o, rnd(2) ? Node.prototype : null);
          else setProto(o, rnd(2) ? Node.prototype : Object.prototype);
        } else if (what < 9) {
          try {
            Object.assign(o, { [k]: prim() }); // a setter, or a getter only: throws
          } catch {
            // the program's own error
          }
        }
      }
      if (step % 700 === 0) resetArena();
      if (step % 1000 === 500) setBounds(1 + rnd(4), 2 + rnd(6), 256);
      // Capture one to three pool objects, as a call's arguments would.
      for (let c = 1 + rnd(3); c > 0; c--) {
        const v = pool[rnd(pool.length)];
        const r = both(v, rnd(5) === 0);
        if (r.usedRef) refs++;
        if (r.top === 0x1a) patches++;
        expect(r.ref).toEqual(r.full);
      }
    }
    setMemoBudget(512 << 10);
    if (memoKib < 1024) {
      // Dropped many times, and references and patches still written
      // between the drops.
      expect(encoderWork[5] - gens0).toBeGreaterThan(200);
      expect(refs).toBeGreaterThan(50);
      expect(patches).toBeGreaterThan(5);
    } else {
      expect(encoderWork[5] - gens0).toBe(0);
      expect(refs).toBeGreaterThan(100);
      // Patches were written (at the top level and inside other values).
      expect(patches).toBeGreaterThan(20);
      expect(encoderWork[4] - patches0).toBeGreaterThan(20);
    }
    expect(ran).toBe(0);
    if (trust) expect(encoderWork[3] - work0).toBeGreaterThan(1000);
    else expect(encoderWork[3]).toBe(work0);
    setTrust(false);
  });

  for (const [trust, memoKib] of [[false, 1024], [true, 1024], [true, 4]] as const) it(`differential: children mutated while their parents are not, shared by two parents, replaced by one of the same shape, and fresh objects holding known children, decode as their full encodings${trust ? ', trusted objects' : ''}${memoKib < 1024 ? `, a ${memoKib} KiB memo budget` : ''}`, () => {
    if (trust) expect(installDefiners(untrust)).toBe(true);
    setTrust(trust);
    setMemoBudget(memoKib * 1024);
    const gens0 = encoderWork[5];
    let ran = 0;
    const getter = (): number => ++ran;
    let seed = 777;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const prim = (): unknown => [0, -0, 1, 'a', null, undefined, true, NaN, 2.5][rnd(9)];
    // Children of a few shapes, shared between parents of one shape (so that
    // the parents' and the children's compiled readers are made and used).
    const kid = (i: number): any => (i % 3 === 0 ? [i, 'k' + i, { deep: i }] : { x: i, y: 'k' + i, z: { deep: i } });
    const kids: any[] = Array.from({ length: 12 }, (_, i) => kid(i));
    const parents: any[] = Array.from({ length: 8 }, (_, i) => ({ id: i, a: kids[i], b: kids[(i + 3) % 12], tag: 't', c: kids[(i * 5) % 12] }));
    let hits = 0;
    for (let step = 0; step < 3000; step++) {
      // (one step in four changes something: most captures find the
      // parents as they were, or changed in one entry: patches)
      const what = rnd(36);
      const p = parents[rnd(parents.length)];
      const k = kids[rnd(kids.length)];
      if (what === 0) p.id = prim(); // the parent changes, its children do not
      else if (what === 1) p[['a', 'b', 'c'][rnd(3)]] = kids[rnd(kids.length)]; // another child (maybe under two parents)
      else if (what === 2) p[['a', 'b', 'c'][rnd(3)]] = kid(rnd(12)); // replaced by a fresh child of the same shape
      else if (what === 3) {
        // a fresh object holding a known child: met once, then again
        p.c = { fresh: kids[rnd(kids.length)], n: step };
      } else if (what === 4) {
        if (Array.isArray(k)) k[rnd(3)] = prim();
        else k[['x', 'y'][rnd(2)]] = prim(); // a child changes, its parents do not
      } else if (what === 5) {
        if (Array.isArray(k)) k.push(prim());
        else if (rnd(2)) k.w = prim(); // a key added
        else delete k.x; // a key deleted
      } else if (what === 6) {
        if (Array.isArray(k)) k.length = rnd(4);
        else if (rnd(2)) Object.defineProperty(k, 'y', { get: getter, enumerable: true, configurable: true });
        else Object.prototype.__defineGetter__.call(k, 'x', getter);
      } else if (what === 7) {
        const z = Array.isArray(k) ? k[2] : k.z;
        if (z !== null && typeof z === 'object') z.deep = prim(); // a grandchild changes
      } else if (what === 8) {
        if (rnd(2)) p.a.z = kids[rnd(kids.length)];
        else if (rnd(4) === 0) p.a = p; // a circle through the parent
      }
      // (nothing written before can be referred to: parents met again are
      // encoded in full through their memos, reaching their children's)
      if (step % 60 === 0) resetArena();
      // Capture one or two parents (or a parent and a child), as a call's arguments would.
      for (let c = 1 + rnd(2); c > 0; c--) {
        const v = rnd(4) === 0 ? kids[rnd(kids.length)] : parents[rnd(parents.length)];
        const r = both(v);
        if (r.usedRef) hits++;
        expect(r.ref).toEqual(r.full);
      }
    }
    setMemoBudget(512 << 10);
    expect(ran).toBe(0);
    expect(hits).toBeGreaterThan(100);
    if (memoKib < 1024) expect(encoderWork[5] - gens0).toBeGreaterThan(3);
    setTrust(false);
  });

  for (const [trust, memoKib] of [[false, 1024], [true, 1024], [true, 4]] as const) it(`differential: arrays, maps and sets that grow, shrink and change between captures decode as their full encodings${trust ? ', trusted objects' : ''}${memoKib < 1024 ? `, a ${memoKib} KiB memo budget` : ''}`, () => {
    if (trust) expect(installDefiners(untrust)).toBe(true);
    setTrust(trust);
    setMemoBudget(memoKib * 1024);
    let seed = 4242;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    // Entry objects: changed in place now and then (a check must notice).
    const objs: any[] = [];
    for (let i = 0; i < 12; i++) objs.push(i % 3 === 0 ? { id: i } : i % 3 === 1 ? [i] : new Map<unknown, unknown>([[i, i]]));
    const arrays: any[][] = [];
    const maps: Map<unknown, unknown>[] = [];
    const sets: Set<unknown>[] = [];
    for (let i = 0; i < 6; i++) {
      arrays.push([]);
      maps.push(new Map());
      sets.push(new Set());
    }
    const holders = arrays.map((a, i) => ({ list: a, tags: maps[i], seen: sets[i], n: 0 }));
    // The same array twice in one value, and a cycle through a holder.
    const pairsOf = arrays.map((a, i) => [a, holders[i], a]);
    arrays[0].push(holders[0]);
    const val = (): unknown => {
      const t = rnd(14);
      if (t < 4) return [0, -0, 1, 'a', 'b', null, undefined, true, NaN, 1.5, 2 ** 40][rnd(11)];
      if (t < 7) return objs[rnd(objs.length)];
      if (t < 8) return arrays[rnd(6)];
      if (t < 9) return maps[rnd(6)];
      if (t < 10) return { fresh: rnd(5) }; // met once
      if (t < 11) return new Date(rnd(3)); // never checkable
      if (t < 12) return holders[rnd(6)];
      return 'k' + rnd(50);
    };
    let refs = 0;
    for (let step = 0; step < 3000; step++) {
      const which = rnd(3);
      const i = rnd(6);
      const what = rnd(24);
      if (which === 0) {
        const a = holders[i].list;
        if (what < 11) a.push(val());
        else if (what < 12) a.pop();
        else if (what < 13 && a.length > 0) a[rnd(a.length)] = val(); // in place
        else if (what < 14) a.length = rnd(a.length + 1); // shrink
        else if (what < 15) a[a.length + rnd(3)] = val(); // sparse: holes
        else if (what < 16 && a.length > 0) delete a[rnd(a.length)]; // a hole
        else if (what < 17) (a as any)['p' + rnd(3)] = val(); // not an index
        else if (what < 18) a.shift();
        else if (what < 19) a.unshift(val());
        else if (what < 20) {
          // replaced: the holder now holds a copy (another array)
          holders[i].list = a.slice();
          arrays[i] = holders[i].list;
          pairsOf[i] = [arrays[i], holders[i], arrays[i]];
        }
      } else if (which === 1) {
        const m = maps[i];
        const keys = [...m.keys()];
        if (what < 11) m.set(rnd(3) === 0 ? { key: rnd(9) } : rnd(2) ? objs[rnd(objs.length)] : 'k' + rnd(40), val());
        else if (what < 13 && keys.length > 0) m.set(keys[rnd(keys.length)], val()); // in place
        else if (what < 15 && keys.length > 0) m.delete(keys[rnd(keys.length)]);
        else if (what < 16) m.clear();
      } else {
        const st = sets[i];
        if (what < 12) st.add(val());
        else if (what < 14) st.delete([...st][rnd(st.size + 1)]);
        else if (what < 15) st.clear();
      }
      if (rnd(4) === 0) {
        // An entry changed in place.
        const o = objs[rnd(objs.length)];
        if (Array.isArray(o)) o.push(rnd(3));
        else if (o instanceof Map) o.set(rnd(4), rnd(4));
        else o.id = rnd(6);
      }
      holders[i].n = step;
      if (step % 500 === 499) resetArena();
      if (step % 700 === 350) setBounds(1 + rnd(4), 2 + rnd(40), 256);
      // The value budget: kept prefixes that no longer fit are cut as a full
      // encoding cuts them.
      if (step % 300 === 150) setValueBudget(rnd(3) === 0 ? 1024 : 4 + rnd(60));
      for (let c = 1 + rnd(3); c > 0; c--) {
        const t = rnd(6);
        const k = rnd(6);
        // (last: after a sibling that spends more or less of the budget)
        const v = t === 0 ? arrays[k] : t === 1 ? maps[k] : t === 2 ? sets[k] : t === 3 ? holders[k] : t === 4 ? pairsOf[k] : [arrays[rnd(6)], arrays[k], maps[k], sets[k]];
        const r = both(v);
        if (r.usedRef) refs++;
        expect(r.ref).toEqual(r.full);
      }
    }
    setMemoBudget(512 << 10);
    setValueBudget(1024);
    setTrust(false);
    expect(refs).toBeGreaterThan(50);
  });
  it('a parser state of 35 keys (acorn), cut by the items bound, is written as a patch that reads back with its count of keys not shown', () => {
    class Parser {
      [k: string]: unknown;
      constructor() {
        for (let i = 0; i < 35; i++) this['p' + i] = i;
        this.input = 'y'.repeat(100);
      }
    }
    const st = new Parser();
    for (let i = 0; i < 20; i++) both(st);
    for (let i = 1; i < 20; i++) {
      st.p3 = i;
      if (i % 3 === 0) st.p33 = 'cut' + i; // a cut key: not written
      const start = arena.pos;
      writeValue(st);
      expect(arena.buf[start]).toBe(0x1a);
      expect(arena.pos - start).toBeLessThan(12);
      const r = new Reader(arena.buf, arena.pos);
      r.pos = start;
      const got = r.value();
      const full = both(st).full;
      expect(got).toEqual(full);
      expect(JSON.stringify(got)).toContain('"total":36');
    }
  });

  it('an object cut by the items bound is trusted up to its kept keys: its checks and patches read them with plain reads', () => {
    expect(installDefiners(untrust)).toBe(true);
    setTrust(true);
    try {
      class Parser {
        [k: string]: unknown;
        constructor() {
          for (let i = 0; i < 35; i++) this['p' + i] = i;
        }
      }
      const st = new Parser();
      for (let i = 0; i < 3; i++) both(st);
      const plain0 = encoderWork[3];
      for (let i = 0; i < 40; i++) {
        st.p3 = i; // a patch
        const r = both(st);
        expect(r.top).toBe(0x1a);
        expect(r.ref).toEqual(r.full);
        const s = both(st); // unchanged: a reference
        expect(s.usedRef).toBe(true);
        expect(s.ref).toEqual(s.full);
      }
      // Every kept entry of every diff and check read with a plain read
      // (80 captures of 32 kept keys).
      expect(encoderWork[3] - plain0).toBeGreaterThanOrEqual(80 * 32);
    } finally {
      setTrust(false);
    }
  });

  for (const how of ['a kept key deleted', 'two kept keys deleted', 'an integer key added and two kept keys deleted', 'the items bound raised', 'a kept key deleted and another added'] as const) it(`an accessor among the keys cut when an object was trusted is never read with a plain read once it is kept: ${how}`, () => {
    expect(installDefiners(untrust)).toBe(true);
    setTrust(true);
    let ran = 0;
    try {
      const o: any = {};
      for (let i = 0; i < 36; i++) {
        // Defined before the object was ever captured (no memo to untrust):
        // cut by the items bound (32), so never read when it was trusted.
        if (i === 32 || i === 33) Object.defineProperty(o, 'k' + i, { get: () => ++ran, set: () => {}, enumerable: true, configurable: true });
        else o['k' + i] = i;
      }
      const holder = { o, n: 0 };
      for (let i = 0; i < 20; i++) {
        o.k1 = i;
        holder.n = i;
        expect(both(o).ref).toEqual(both(o).full);
        expect(both(holder).ref).toEqual(both(holder).full);
      }
      if (how === 'a kept key deleted') delete o.k0;
      else if (how === 'two kept keys deleted') {
        delete o.k0;
        delete o.k5;
      } else if (how === 'an integer key added') o[7] = 'first';
      else if (how === 'the items bound raised') setBounds(3, 34, 256);
      else {
        delete o.k2;
        o.extra = 1; // same count: the accessor is now kept, the count unchanged
      }
      for (let i = 0; i < 4; i++) {
        o.k1 = 100 + i;
        holder.n++;
        const r = both(o);
        expect(r.ref).toEqual(r.full);
        expect(JSON.stringify(r.full)).toContain('accessor');
        const h = both(holder);
        expect(h.ref).toEqual(h.full);
      }
      expect(ran).toBe(0);
    } finally {
      setTrust(false);
    }
  });

  it('under attr: rules, a patch of an object cut by the items bound (no shape plan) writes a redacted key redacted', () => {
    setAttrResolver((_set, k) => (k === 'k5' ? 1 : 0));
    registerAttr(9, 1, 1);
    attrFor(9);
    try {
      const o: any = {};
      for (let j = 0; j < 50; j++) o['k' + j] = j;
      both(o);
      both(o);
      for (let i = 0; i < 4; i++) {
        o.k5 = 'sk_live_' + i;
        const start = arena.pos;
        writeValue(o);
        expect(arena.buf[start]).toBe(0x1a);
        const r = new Reader(arena.buf, arena.pos);
        r.pos = start;
        const got = r.value();
        expect(got.props.k5).toEqual({ $: 'redacted', type: 'string' });
        expect(got).toEqual(both(o).full);
      }
    } finally {
      attrNone();
      setAttrResolver(() => 0);
    }
  });

  for (const trust of [false, true]) it(`differential: objects of 31 to 80 keys, cut by the items bound or the budget, changed in kept and cut keys, with accessors among the cut keys that deletions bring into the kept ones, decode as their full encodings${trust ? ', trusted objects (up to their kept keys)' : ''}`, () => {
    if (trust) expect(installDefiners(untrust)).toBe(true);
    setTrust(trust);
    setAttrResolver((_set, k) => (k === 'k5' ? 1 : 0));
    registerAttr(9, 1, 1);
    let seed = 4242;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    class Wide {}
    let ran = 0;
    const acc = { get: () => ++ran, set: (_: unknown) => {}, enumerable: true, configurable: true };
    const wides: any[] = [];
    for (let i = 0; i < 8; i++) {
      const o: any = i % 2 === 0 ? {} : new Wide();
      const n = 31 + rnd(50);
      // Accessors defined before the first capture (no memo to untrust),
      // some among the keys cut by the items bound: a trusted object must
      // never read them with a plain read once a deletion brings them into
      // the kept keys.
      for (let j = 0; j < n; j++) {
        if (j >= 30 && rnd(6) === 0) Object.defineProperty(o, 'k' + j, acc);
        else o['k' + j] = j % 7 === 0 ? { x: j } : j;
      }
      wides.push(o);
    }
    const prim = (): unknown => [0, -0, 1, 'a', null, undefined, true, NaN, 2 ** 40][rnd(9)];
    let patches = 0;
    let cutPatches = 0;
    try {
      for (let step = 0; step < 3000; step++) {
        const o = wides[rnd(wides.length)];
        const n = Object.keys(o).length;
        const what = rnd(10);
        // in a kept key (below 32), or anywhere (cut keys too)
        const j = what < 6 ? rnd(32) : rnd(n);
        if (what < 8) o['k' + j] = rnd(4) === 0 ? { x: rnd(3) } : prim();
        else if (what < 9 && rnd(4) === 0) {
          const inner = Object.getOwnPropertyDescriptor(o, 'k' + j)?.value; // (no getter run here)
          if (typeof inner === 'object' && inner !== null) inner.x = prim();
        } else if (rnd(30) === 0) {
          // a key added or removed (other count, other keys)
          if (rnd(2)) o['extra' + rnd(3)] = 1;
          else delete o['k' + (n - 1)];
        } else if (rnd(12) === 0) {
          // a kept key deleted: the keys after it move up (a cut accessor
          // may become kept); re-added later by an assignment, last
          delete o['k' + rnd(32)];
        } else if (rnd(40) === 0) Object.defineProperty(o, 'k' + rnd(n), acc); // through a definer
        if (step % 600 === 0) resetArena();
        if (step % 500 === 250) setBounds(2 + rnd(3), [16, 32, 40, 64, 100][rnd(5)], 256);
        if (step % 400 === 100) setValueBudget([20, 40, 70, 1024][rnd(4)]);
        if (step % 300 === 0) {
          if (rnd(2)) attrFor(9);
          else attrNone();
        }
        for (let c = 1 + rnd(2); c > 0; c--) {
          const t = rnd(4);
          const v = t === 0 ? [wides[rnd(8)], o] : t === 1 ? { a: o } : o;
          const p0 = encoderWork[4];
          const r = both(v);
          if (encoderWork[4] > p0) {
            patches++;
            if (Object.keys(o).length > 40) cutPatches++;
          }
          expect(r.ref).toEqual(r.full);
        }
      }
    } finally {
      attrNone();
      setAttrResolver(() => 0);
      setValueBudget(1024);
      setTrust(false);
    }
    expect(patches).toBeGreaterThan(50);
    expect(cutPatches).toBeGreaterThan(10);
    expect(ran).toBe(0);
  });
});

describe('shape witnesses (NODEREC_VALUE_SHAPE_WITNESS, off by default)', () => {
  it('compiles its two V8 natives and leaves --allow-natives-syntax off for the program', () => {
    expect(setShapeWitness(true)).toBe(true);
    try {
      expect(() => new Function('a', 'b', 'return %HaveSameMap(a,b)')).toThrow(SyntaxError);
    } finally {
      setShapeWitness(false);
    }
  });

  it('fresh objects of a witnessed shape encode as with descriptor reads; getters, setters and traps never run', () => {
    expect(installDefiners(untrust)).toBe(true);
    setTrust(true);
    let ran = 0;
    const get = (): number => ++ran;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const vm = require('node:vm') as typeof import('node:vm');
    const other = vm.createContext({});
    const otherDefine = vm.runInContext('Object.defineProperty', other) as typeof Object.defineProperty;
    const plain = (i: number): Record<string, unknown> => ({ a: i & 1023, b: 'name', c: true, d: null, e: 2.5 });
    class K {
      a = 1;
      b = 'name';
      c = true;
      d = null;
      e = 2.5;
    }
    const acc = (o: Record<string, unknown>, k: string): Record<string, unknown> => {
      Object.defineProperty(o, k, { get, enumerable: true, configurable: true });
      return o;
    };
    const cases: Array<[string, () => unknown]> = [
      ['plain', () => plain(7)],
      ['a getter in the literal', () => ({ get a() { return ++ran; }, b: 'name', c: true, d: null, e: 2.5 })],
      ['a setter in the literal', () => ({ a: 1, b: 'name', c: true, d: null, set e(_v: unknown) { ran++; } })],
      ['defineProperty on a fresh object', () => acc(plain(1), 'c')],
      ['__defineGetter__ on a fresh object', () => {
        const o = plain(1);
        Object.prototype.__defineGetter__.call(o, 'e', get);
        return o;
      }],
      ["another realm's defineProperty (not wrapped)", () => {
        const o = plain(1);
        otherDefine(o, 'b', { get, enumerable: true, configurable: true });
        return o;
      }],
      ['deleted and added again (dictionary mode on Node 22+)', () => {
        const o = plain(1);
        delete o.e;
        o.e = 2.5;
        return o;
      }],
      ['deleted, added again, then an accessor', () => {
        const o = plain(1);
        delete o.e;
        o.e = 2.5;
        return acc(o, 'a');
      }],
      ['frozen', () => Object.freeze(plain(2))],
      ['sealed', () => Object.seal(plain(2))],
      ['not extensible', () => Object.preventExtensions(plain(2))],
      ['an element', () => {
        const o = plain(3);
        o[0] = 'x';
        return o;
      }],
      ['an accessor element', () => acc(plain(3), '0')],
      ['a non-enumerable accessor element', () => {
        const o = plain(3);
        Object.defineProperty(o, '1', { get, enumerable: false, configurable: true });
        return o;
      }],
      ['a double where the witness has an int', () => ({ a: 1.5, b: 'name', c: true, d: null, e: 2.5 })],
      ['an object value', () => ({ a: { x: 1 }, b: 'name', c: true, d: null, e: 2.5 })],
      ['a class instance', () => new K()],
      ['a null prototype', () => Object.assign(Object.create(null), plain(4))],
      ['another prototype', () => Object.setPrototypeOf(plain(4), { get a() { return ++ran; } })],
      ['a Proxy of a fresh object', () => new Proxy(plain(5), { get: get, getOwnPropertyDescriptor: get, ownKeys: get, getPrototypeOf: get } as ProxyHandler<object>)],
      ['another realm', () => vm.runInContext('({ a: 1, b: "name", c: true, d: null, e: 2.5 })', other)],
      ["another realm's getter literal", () => vm.runInContext('({ get a() { return 1; }, b: "name", c: true, d: null, e: 2.5 })', other)],
      ['an index key (no witness for such keys)', () => ({ 0: 'x', a: 1 })],
      ['an index key, an accessor element', () => acc({ 0: 'x', a: 1 }, '0')],
      ['inside an array', () => [plain(6), acc(plain(6), 'd'), plain(6)]],
      ['inside a fresh object of the same shape', () => ({ a: acc(plain(6), 'a'), b: plain(6), c: true, d: null, e: 2.5 })],
    ];
    try {
      const want = cases.map(([, mk]) => bytesOf(mk()));
      expect(ran).toBe(0);
      expect(setShapeWitness(true)).toBe(true);
      const hits0 = shapeWitnessHits();
      for (let i = 0; i < 200; i++) {
        bytesOf(plain(i));
        bytesOf({ 0: 'x', a: i });
      }
      // (the witness is made and used)
      expect(shapeWitnessHits() - hits0).toBeGreaterThan(150);
      for (let round = 0; round < 3; round++) {
        cases.forEach(([name, mk], i) => {
          expect([name, bytesOf(mk())]).toEqual([name, want[i]]);
          // (and right after a witnessed object, which makes it the last one)
          bytesOf(plain(i));
          expect([name, bytesOf(mk())]).toEqual([name, want[i]]);
        });
      }
      expect(ran).toBe(0);
    } finally {
      setShapeWitness(false);
      setTrust(false);
    }
  });
});
