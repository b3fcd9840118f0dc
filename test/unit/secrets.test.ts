// The secrets module on its own (js/runtime/secrets.ts): the string
// detectors, pair lists and process.env, in both directions — what must be
// replaced, and look-alikes that must come back untouched (the same string,
// not a copy).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { configureSecrets, envKeyAction, isPairList, pairName, resetSecrets, scrubString, setSecretsWindow } from '../../js/runtime/secrets';

const ALL = ['url-password', 'url-params', 'header-lines', 'auth-scheme', 'jwt', 'private-key', 'aws-key-id'];
// The default filter's attr rules, as far as these tests need them.
const SECRET_NAME = /passw(or)?d|secret|token|api[-_]?key|access[-_]?key|signature|^sig$|authori[sz]ation|cookie|session|credential/i;

beforeEach(() => {
  configureSecrets({ strings: ALL, pairs: true, envAllow: ['PATH', 'NODE_ENV'] }, (k) => (SECRET_NAME.test(k) ? 1 : 0));
  setSecretsWindow(256);
});
afterEach(() => resetSecrets());

describe('strings', () => {
  const replaced: [string, string][] = [
    ['postgres://app:Pg-Pass-9f8e7d@db.internal:5432/shop', 'postgres://app:[redacted]@db.internal:5432/shop'],
    ['connect to mysql://root:toor@127.0.0.1/db failed', 'connect to mysql://root:[redacted]@127.0.0.1/db failed'],
    ['https://example.com/cb?access_token=abc.def&state=xyz', 'https://example.com/cb?access_token=[redacted]&state=xyz'],
    ['/upload?X-Amz-Credential=AK%2F20&X-Amz-Signature=f00d&x=1', '/upload?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&x=1'],
    ['grant_type=password&username=ada&password=hunter2', 'grant_type=password&username=ada&password=[redacted]'],
    [
      'GET /x HTTP/1.1\r\nHost: h\r\nAuthorization: Basic YWRtaW46aHVudGVy\r\nCookie: sid=1\r\n\r\n',
      'GET /x HTTP/1.1\r\nHost: h\r\nAuthorization: [redacted]\r\nCookie: [redacted]\r\n\r\n',
    ],
    ['Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc', 'Bearer [redacted]'],
    ['basic YWRtaW46aHVudGVy', 'basic [redacted]'],
    // Any white space after the scheme, as the detector's \s+ (review of decision 41).
    ['Bearer\tYWRtaW46aHVudGVy', 'Bearer [redacted]'],
    ['token\u00a0YWRtaW46aHVudGVy', 'token [redacted]'],
    ['Negotiate\nYWRtaW46aHVudGVy', 'Negotiate [redacted]'],
    ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln', '[redacted]'],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n', '[redacted]\n'],
    ['AKIAIOSFODNN7EXAMPLE', '[redacted]'],
  ];
  for (const [input, output] of replaced) {
    it(`replaces the secret in ${JSON.stringify(input.slice(0, 40))}`, () => {
      expect(scrubString(input)).toBe(output);
    });
  }

  const kept = [
    'ada@example.com',
    'mailto:ada@example.com',
    'https://example.com/search?q=tokens&page=2',
    'https://user@example.com/repo.git',
    'a=1&b=2',
    'dGhpcyBpcyBiYXNlNjQ=',
    'Content-Type: text/html\nX-Frame-Options: DENY\n',
    'Bearers of good news',
    'Token',
    'eyes on the road',
    'AKIA',
    'ASIA Pacific region',
    'the quick brown fox',
    'short',
    '',
  ];
  for (const s of kept) {
    it(`keeps ${JSON.stringify(s)} (the same string)`, () => {
      expect(scrubString(s)).toBe(s);
    });
  }

  it('does nothing with every detector off', () => {
    configureSecrets({ strings: [] }, () => 1);
    expect(scrubString('postgres://a:b@c/d?token=x')).toBe('postgres://a:b@c/d?token=x');
  });

  it('looks at a long string up to its window, and keeps what lies past it out', () => {
    const long = `https://u:pw-123456@h/x ${'y'.repeat(10_000)}`;
    const out = scrubString(long);
    expect(out.startsWith('https://u:[redacted]@h/x yyy')).toBe(true);
    expect(out.length).toBeLessThanOrEqual(256 + 2048 + 16);
    const plain = 'z'.repeat(100_000);
    expect(scrubString(plain)).toBe(plain);
  });

  it('never runs a method a program patched', () => {
    configureSecrets({ strings: ALL }, (k) => (k === 'token' ? 1 : 0));
    const exec = RegExp.prototype.exec;
    const replace = String.prototype.replace;
    let calls = 0;
    RegExp.prototype.exec = function (this: RegExp, s: string) {
      calls++;
      return exec.call(this, s);
    };
    String.prototype.replace = function () {
      calls++;
      return 'patched';
    } as never;
    try {
      expect(scrubString('postgres://a:secretpw@h/db?token=abc')).toBe('postgres://a:[redacted]@h/db?token=[redacted]');
    } finally {
      RegExp.prototype.exec = exec;
      String.prototype.replace = replace;
    }
    expect(calls).toBe(0);
  });
});

describe('pair lists and process.env', () => {
  it('rawHeaders and entries are pair lists; argv, words and numbers are not', () => {
    expect(isPairList(['Host', 'h', 'Authorization', 'Basic x'])).toBe(true);
    expect(isPairList(['authorization', 'Bearer x'])).toBe(true);
    expect(pairName(['Host', 'h', 'Authorization', 'Basic x'], 3)).toBe('Authorization');
    expect(pairName(['Host', 'h'], 0)).toBe(null);
    expect(isPairList(['/usr/bin/node', 'app.js'])).toBe(false);
    expect(isPairList(['a', 'b', 'c'])).toBe(false);
    expect(isPairList([1, 2])).toBe(false);
    expect(isPairList([])).toBe(false);
  });

  it('reads elements without running getters', () => {
    const a: unknown[] = ['x', 'y'];
    let ran = false;
    Object.defineProperty(a, 0, {
      get() {
        ran = true;
        return 'Authorization';
      },
    });
    expect(isPairList(a)).toBe(false);
    expect(ran).toBe(false);
  });

  it('process.env: allowed variables keep their value, the rest is redacted; other objects are not environments', () => {
    expect(envKeyAction(process.env, 'PATH')).toBe(0);
    expect(envKeyAction(process.env, 'AWS_SECRET_ACCESS_KEY')).toBe(1);
    expect(envKeyAction({ PATH: 'x' }, 'PATH')).toBe(-1);
    configureSecrets({}, () => 0);
    expect(envKeyAction(process.env, 'AWS_SECRET_ACCESS_KEY')).toBe(-1);
  });
});
