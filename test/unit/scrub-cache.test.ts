// The encoder keeps what secrets.ts's scrubString answered for long strings
// (js/runtime/value-encoder.ts, `scrubbed`): the same string encoded again
// must give what scrubString gives now — under another function's attr:
// rules (which header lines are redacted), after the resolver or the
// secrets settings changed, and for every occurrence of a secret.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { arena, attrFor, currentKeyAction, registerAttr, resetArena, setAttrResolver, setBounds, writeValue } from '../../js/runtime/value-encoder';
import { configureSecrets, resetSecrets, setSecretsWindow } from '../../js/runtime/secrets';

const ALL = ['url-password', 'url-params', 'header-lines', 'auth-scheme', 'jwt', 'private-key', 'aws-key-id'];

/** The encoded bytes of `v` as text (the string's bytes are in there as written). */
function encoded(v: unknown): string {
  resetArena();
  writeValue(v);
  return Buffer.from(arena.buf.subarray(0, arena.pos)).toString('latin1');
}

// Function 1 has attr rule set 1 (X-Api-Secret redacted), function 2 none.
const resolver = (set: number, key: string): number => (set === 1 && /^x-api-secret$/i.test(key) ? 1 : 0);
// Long enough to be kept (256 characters and more), made at run time so it is one string object.
const headers = ['GET /x HTTP/1.1', 'Host: example.com', 'X-Api-Secret: s3cr3t-value', ...Array.from({ length: 20 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(10)}`), ''].join('\r\n');
const url = `${'see '.repeat(70)}postgres://app:Pg-Pass-9f8e7d@db.internal:5432/shop`;

beforeEach(() => {
  setBounds(3, 32, 4096);
  setSecretsWindow(4096);
  configureSecrets({ strings: ALL }, currentKeyAction);
  setAttrResolver(resolver);
  registerAttr(1, [1, 0]);
});
afterEach(() => {
  resetSecrets();
  setAttrResolver(() => 0);
  attrFor(0);
  setBounds(3, 32, 256);
  resetArena();
});

describe('the scrub cache of long strings', () => {
  it('answers per attr: rule set, both ways, again and again', () => {
    expect(headers.length).toBeGreaterThan(256);
    for (let i = 0; i < 3; i++) {
      attrFor(1);
      expect(encoded(headers)).toContain('X-Api-Secret: [redacted]');
      attrFor(2);
      expect(encoded(headers)).toContain('X-Api-Secret: s3cr3t-value');
    }
  });

  it('follows a new attr resolver and new secrets settings', () => {
    attrFor(1);
    expect(encoded(headers)).toContain('[redacted]');
    setAttrResolver(() => 0);
    expect(encoded(headers)).not.toContain('[redacted]');
    setAttrResolver(resolver);
    expect(encoded(headers)).toContain('[redacted]');
    expect(encoded(url)).toContain('app:[redacted]@');
    configureSecrets({ strings: [] }, currentKeyAction);
    expect(encoded(url)).toContain('Pg-Pass-9f8e7d');
    expect(encoded(headers)).not.toContain('[redacted]');
    configureSecrets({ strings: ALL }, currentKeyAction);
    expect(encoded(url)).toContain('app:[redacted]@');
    expect(encoded(url)).toContain('app:[redacted]@');
  });

  it('a value recorded before the secrets settings changed is not referred back to', () => {
    // Memos are dropped by configureSecrets itself, not only by the
    // setBounds a session start calls before it.
    configureSecrets({ strings: [] }, currentKeyAction);
    const o = { url, n: 1 };
    resetArena();
    let at = arena.pos;
    writeValue(o);
    writeValue(o);
    const kept = Buffer.from(arena.buf.subarray(at, arena.pos)).toString('latin1');
    expect(kept).toContain('Pg-Pass-9f8e7d');
    configureSecrets({ strings: ALL }, currentKeyAction);
    at = arena.pos;
    writeValue(o);
    const now = Buffer.from(arena.buf.subarray(at, arena.pos)).toString('latin1');
    expect(now).toContain('app:[redacted]@');
    expect(now).not.toContain('Pg-Pass-9f8e7d');
    resetSecrets();
    at = arena.pos;
    writeValue(o);
    expect(Buffer.from(arena.buf.subarray(at, arena.pos)).toString('latin1')).toContain('Pg-Pass-9f8e7d');
  });

  it('follows the window (a secret past it is not looked for)', () => {
    const late = `${'x'.repeat(3000)} postgres://app:Pg-Pass-9f8e7d@db/shop`;
    setBounds(3, 32, 8192);
    setSecretsWindow(8192);
    expect(encoded(late)).toContain('app:[redacted]@');
    setSecretsWindow(256);
    expect(encoded(late)).toContain('Pg-Pass-9f8e7d');
  });
});
