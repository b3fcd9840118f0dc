import { afterEach, describe, expect, it } from 'vitest';
import { arena, resetArena, setBounds, writeValue } from '../../js/runtime/value-encoder';
import { configureSecrets, resetSecrets, scrubString } from '../../js/runtime/secrets';

const ALL = ['url-password', 'url-params', 'header-lines', 'auth-scheme', 'jwt', 'private-key', 'aws-key-id'];
function varint(n: number): number[] { const o: number[] = []; while (n > 0x7f) { o.push((n & 0x7f) | 0x80); n >>>= 7; } o.push(n); return o; }
function expected(s: string, bound: number): number[] {
  const r = scrubString(s);
  let keep = r.length < bound ? r.length : bound;
  if (keep < r.length && keep > 0) { const hi = r.charCodeAt(keep - 1), lo = r.charCodeAt(keep); if (hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) keep--; }
  const bytes = [...Buffer.from(r.slice(0, keep), 'utf8')];
  return [0x06, ...varint(bytes.length), ...varint(r.length), ...bytes];
}
function encoded(v: unknown): number[] { resetArena(); writeValue(v); return [...arena.buf.subarray(0, arena.pos)]; }
// Whether a[from..] starts with e: compared in a loop, expect() only on a
// mismatch (200,000 expect() calls and their messages were most of the
// test's time: past vitest's 60 s on a loaded 2-core machine).
function startsWith(a: number[], from: number, e: number[]): boolean { if (a.length - from < e.length) return false; for (let i = 0; i < e.length; i++) if (a[from + i] !== e[i]) return false; return true; }
let seed = 12345;
// (the high bits: the low bits of this generator repeat with short periods)
function rnd(n: number): number { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return Math.floor((seed / 0x80000000) * n); }
const PIECES = ['AKIAIOSFODNN7EXAMPLE', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln', 'Bearer ', 'bearer\t', 'Basic ', 'bot ', 'Token ', 'digest ', 'Negotiate ', 'eyJ', '.eyJ', 'AKIA', 'ASIA', 'http://', 'a:b@', '://', '@', '=', '?', '&', ';', '\n', '\r\n', ':', ' ', '-----BEGIN ', 'PRIVATE KEY-----', '-', 'password', 'token', 'secret', 'x', 'A', 'Z', '0', '9', '_', '\u00e9', '\u0130', '\u212a', '\uff20', '\u2028', '\u0085'];
function gen(): string {
  let s = '';
  const parts = 1 + rnd(6);
  for (let i = 0; i < parts; i++) s += rnd(3) === 0 ? String.fromCharCode(32 + rnd(95)) : PIECES[rnd(PIECES.length)];
  if (rnd(4) === 0) s = String.fromCharCode(rnd(128)) + s;
  return s.slice(0, 1 + rnd(30));
}
afterEach(() => { resetSecrets(); setBounds(3, 32, 256); resetArena(); });
describe('short strings fuzzed against scrubString (review of decision 41)', () => {
  it('short path == scrubString, random detector subsets/bounds', () => {
    let changed = 0, n = 0;
    for (let round = 0; round < 400; round++) {
      const sub = ALL.filter(() => rnd(2) === 0);
      const mode = rnd(3);
      configureSecrets({ strings: round % 7 === 0 ? ALL : sub }, (k) => (mode === 0 ? 1 : mode === 1 ? 0 : /pass|token|secret/i.test(k) ? 1 : 0));
      const bound = [256, 30, 24, 12, 8, 7, 1, 0][rnd(8)];
      setBounds(3, 32, bound);
      for (let j = 0; j < 500; j++) {
        const s = gen();
        n++;
        if (scrubString(s) !== s) changed++;
        const e = expected(s, bound);
        const a = encoded(s);
        if (a.length !== e.length || !startsWith(a, 0, e)) expect(a, JSON.stringify([s, sub, mode, bound])).toEqual(e);
        const ar = encoded([s, 1]);
        if (!startsWith(ar, 3, e)) expect(ar.slice(3, 3 + e.length), JSON.stringify(s)).toEqual(e);
      }
    }
    expect(changed).toBeGreaterThan(100);
  });
});
