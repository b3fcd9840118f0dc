// Short strings are written in one pass (js/runtime/value-encoder.ts,
// putShortStr) without calling secrets.ts's scrubString when its guards say
// it would return the string as it is (scrubNeed). The bytes must be those
// of the general path: the tag, the UTF-8 byte length, the length in UTF-16
// units and the UTF-8 bytes of what scrubString answers — for secrets that
// fit in a short string, look-alikes, every first character, strings with
// '@', '=' or a newline anywhere, non-ASCII ones, around the length of the
// one-pass path (24) and the string bound, with the detectors on and off.
import { afterEach, describe, expect, it } from 'vitest';

import { arena, resetArena, setBounds, writeValue } from '../../js/runtime/value-encoder';
import { configureSecrets, resetSecrets, scrubString } from '../../js/runtime/secrets';
import { varint } from '../helpers/trace-file';

const ALL = ['url-password', 'url-params', 'header-lines', 'auth-scheme', 'jwt', 'private-key', 'aws-key-id'];
const SECRET_NAME = /passw(or)?d|secret|token|api[-_]?key/i;

/** The bytes of a `str` value (values.md), from scrubString's answer, cut at `bound` units (never half a pair). */
function expected(s: string, bound: number): number[] {
  const r = scrubString(s);
  let keep = r.length < bound ? r.length : bound;
  if (keep < r.length && keep > 0) {
    const hi = r.charCodeAt(keep - 1);
    const lo = r.charCodeAt(keep);
    if (hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) keep--;
  }
  const bytes = [...Buffer.from(r.slice(0, keep), 'utf8')];
  return [0x06, ...varint(bytes.length), ...varint(r.length), ...bytes];
}

function encoded(v: unknown): number[] {
  resetArena();
  writeValue(v);
  return [...arena.buf.subarray(0, arena.pos)];
}

const secrets = [
  'Bearer abcdefghijk',
  'bearer abcdefghijk',
  'BASIC YWRtaW46aHVu',
  'token abcdef123456',
  'Digest abcdefghij',
  'negotiate abcdefgh',
  'bot abcdefghijkl',
  'eyJhbGci.eyJzdWIi.c2ln',
  'AKIAIOSFODNN7EXAMPLE',
  'http://u:pw1234@h.io',
  'a?password=hunter2',
  'x&api_key=abc123',
  'Authorization: B\nx',
  'h: v\nToken: abc',
  '-----BEGIN RSA PRIVATE KEY-----',
  '\n-----BEGIN PRIVATE KEY-----',
];
const others = [
  '',
  'a',
  'identifier_12',
  'eyJ-not-a-token',
  'AKIA-short',
  'bearer',
  'Bearerxabcdefghijk',
  'user@example.com',
  'a=b',
  '=====',
  '@@@@@@@@@',
  'line one\nline two',
  'tab\there',
  'caf\u00e9 au lait',
  '\u{1f600} smile',
  'x'.repeat(23),
  'y'.repeat(24),
  'z'.repeat(25),
  'q'.repeat(40),
];
// Every first character (ASCII and one past), on a string of 8 and one of 20.
const firsts: string[] = [];
for (let c = 0; c <= 0x80; c++) {
  firsts.push(String.fromCharCode(c) + 'earer x', String.fromCharCode(c) + 'earer abcdefghijkl');
}
// '@', '=', a newline and a non-ASCII character at every place of a
// 12-character string, after prefixes that make some of them secrets.
const placed: string[] = [];
for (const pre of ['', 'http://a:b', '?password', 'Token:']) {
  for (const t of ['@', '=', '\n', '\u00e9']) {
    for (let i = 0; i < 12; i++) placed.push(pre + 'abcdefghijkl'.slice(0, i) + t + 'abcdefghijkl'.slice(i + 1));
  }
}
const all = [...secrets, ...others, ...firsts, ...placed];

afterEach(() => {
  resetSecrets();
  setBounds(3, 32, 256);
  resetArena();
});

describe('short strings written in one pass', () => {
  for (const [name, on] of [
    ['every detector on', true],
    ['the detectors off', false],
  ] as const) {
    for (const bound of [256, 24, 10, 1, 0]) {
      it(`are the bytes of scrubString's answer (${name}, string bound ${bound}), alone and inside an array and an object`, () => {
        if (on) configureSecrets({ strings: ALL }, (k) => (SECRET_NAME.test(k) ? 1 : 0));
        else resetSecrets();
        setBounds(3, 32, bound);
        let changed = 0;
        for (const s of all) {
          if (scrubString(s) !== s) changed++;
          expect(encoded(s), JSON.stringify(s)).toEqual(expected(s, bound));
          expect(encoded([s]), JSON.stringify(s)).toEqual([0x0a, 1, 1, ...expected(s, bound)]);
          const obj = encoded({ k: s });
          expect(obj.slice(obj.length - expected(s, bound).length), JSON.stringify(s)).toEqual(expected(s, bound));
        }
        // (the secrets above are found with the detectors on, and only then)
        if (on) expect(changed).toBeGreaterThanOrEqual(secrets.length);
        else expect(changed).toBe(0);
      });
    }
  }
});
