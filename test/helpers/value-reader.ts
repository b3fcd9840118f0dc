// A tiny decoder of the value encoding for the encoder's unit tests,
// producing the JSON form of design-docs/values.md, except that numbers
// stay JS numbers (so -0/NaN/Infinity compare with Object.is) and dates
// keep their time value.

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array, readonly end: number) {}
  u8(): number {
    if (this.pos >= this.end) throw new Error(`truncated at ${this.pos}`);
    return this.b[this.pos++];
  }
  varint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = this.u8();
      n += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return n;
      mul *= 128;
    }
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.end) throw new Error('truncated bytes');
    const r = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  f64(): number {
    const b = this.bytes(8);
    return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
  }
  str(): { s: string; full: number; cut: boolean } {
    const byteLen = this.varint();
    const full = this.varint();
    const s = utf8.decode(this.bytes(byteLen));
    return { s, full, cut: full > s.length };
  }
  plain(): string {
    return this.str().s;
  }
  value(): any {
    const t = this.u8();
    switch (t) {
      case 0x00:
        return { $: 'undefined' };
      case 0x01:
        return null;
      case 0x02:
        return false;
      case 0x03:
        return true;
      case 0x04: {
        const z = this.varint();
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      case 0x05:
        return this.f64();
      case 0x06: {
        const { s, full, cut } = this.str();
        return cut ? { $: 'string', v: s, length: full } : s;
      }
      case 0x07: {
        const { s, full, cut } = this.str();
        return cut ? { $: 'bigint', v: s, length: full } : { $: 'bigint', v: s };
      }
      case 0x08:
        return { $: 'symbol', description: this.value() };
      case 0x09: {
        const name = this.plain();
        const kind = ['function', 'class', 'async', 'generator', 'async-generator', 'other'][
          this.u8()
        ];
        return { $: 'function', name, kind };
      }
      case 0x0a: {
        const length = this.varint();
        const n = this.varint();
        const items = [];
        for (let i = 0; i < n; i++) items.push(this.value());
        return n < length ? { $: 'array', length, items } : items;
      }
      case 0x0b: {
        const cls = this.plain();
        const total = this.varint();
        const n = this.varint();
        const props: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = this.plain();
          props[k] = this.value();
        }
        const o: any = { $: 'object', class: cls, props };
        if (n < total) o.total = total;
        return o;
      }
      case 0x0c: {
        const size = this.varint();
        const n = this.varint();
        const entries = [];
        for (let i = 0; i < n; i++) entries.push([this.value(), this.value()]);
        return { $: 'map', size, entries };
      }
      case 0x0d: {
        const size = this.varint();
        const n = this.varint();
        const values = [];
        for (let i = 0; i < n; i++) values.push(this.value());
        return { $: 'set', size, values };
      }
      case 0x0e:
        return { $: 'date', v: this.f64() };
      case 0x0f:
        return { $: 'error', class: this.plain(), message: this.plain() };
      case 0x10:
        return { $: 'hole' };
      case 0x11: {
        const f = this.u8();
        return { $: 'accessor', get: (f & 1) !== 0, set: (f & 2) !== 0 };
      }
      case 0x12:
        return { $: 'proxy' };
      case 0x13:
        return { $: 'circular', up: this.varint() };
      case 0x14: {
        const cls = this.plain();
        const length = this.varint();
        const n = this.varint();
        const hex = Buffer.from(this.bytes(n)).toString('hex');
        return { $: 'bytes', class: cls, length, hex };
      }
      case 0x15:
        return { $: 'truncated', class: this.plain() };
      case 0x16:
        return { $: 'redacted', type: this.plain() };
      case 0x17:
        return { $: 'regexp', source: this.plain(), flags: this.plain() };
      case 0x18:
        return { $: 'opaque', class: this.plain() };
      case 0x19: {
        // ref: the value encoded at this offset of the arena batch.
        const at = this.pos - 1;
        const off = this.varint();
        if (off >= at) throw new Error(`bad ref ${off} at ${at}`);
        const resume = this.pos;
        this.pos = off;
        const v = this.value();
        this.pos = resume;
        return v;
      }
      case 0x1a: {
        // patch: the object encoded at this offset with some values replaced.
        const at = this.pos - 1;
        const off = this.varint();
        if (off >= at || this.b[off] !== 0x0b) throw new Error(`bad patch base ${off} at ${at}`);
        const k = this.varint();
        const repl = new Map<number, unknown>();
        let last = -1;
        for (let i = 0; i < k; i++) {
          const idx = this.varint();
          if (idx <= last) throw new Error(`patch index ${idx} not ascending at ${at}`);
          last = idx;
          repl.set(idx, this.value());
        }
        const resume = this.pos;
        this.pos = off + 1;
        const cls = this.plain();
        const total = this.varint();
        const n = this.varint();
        if (last >= n) throw new Error(`patch index ${last} beyond ${n} at ${at}`);
        const props: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const key = this.plain();
          const v = this.value();
          props[key] = repl.has(i) ? repl.get(i) : v;
        }
        this.pos = resume;
        const o: any = { $: 'object', class: cls, props };
        if (n < total) o.total = total;
        return o;
      }
      default:
        throw new Error(`unknown tag ${t} at ${this.pos - 1}`);
    }
  }
}
