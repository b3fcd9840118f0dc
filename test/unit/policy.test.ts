// The policy model: every variable, good and bad values, precedence, the
// API options and the `noderec record` flags.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { parseRecordArgs } from '../../js/cli/record';
import {
  configurePolicy,
  configurePolicyFromEnv,
  policyFromEnv,
  policyLayerFromEnv,
  policySnapshot,
  resetPolicy,
  resolvePolicy,
} from '../../js/policy/env';
import { DEFAULT_POLICY, PolicyError, SETTINGS, validateOption } from '../../js/policy/model';

function policyErrorOf(f: () => unknown): PolicyError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return e as PolicyError;
  }
  throw new Error('expected a PolicyError');
}

/** Per variable: values that parse (text -> value) and values that do not. */
const CASES: Record<string, { good: [string, unknown][]; bad: string[]; accepted: RegExp }> = {
  NODEREC_DISABLED: { good: [['1', true], ['off', false]], bad: ['2', 'maybe'], accepted: /1 true yes on/ },
  NODEREC_OUT_DIR: { good: [['/tmp/x', '/tmp/x'], ['rel/dir', 'rel/dir']], bad: ['a\0b'], accepted: /non-empty path/ },
  NODEREC_TRACE_FILTER: { good: [['a.toml::b.toml', ['a.toml', 'b.toml']], ['one.toml', ['one.toml']]], bad: ['a\0.toml'], accepted: /::/ },
  NODEREC_ON_RECORDER_ERROR: { good: [['abort', 'abort'], ['DISABLE', 'disable']], bad: ['ignore', 'abort,disable'], accepted: /abort \| disable/ },
  NODEREC_REQUIRE_TRACE: { good: [['yes', true], ['No', false]], bad: ['y'], accepted: /1 true yes on/ },
  NODEREC_KEEP_PARTIAL_TRACE: { good: [['TRUE', true], ['0', false]], bad: ['keep'], accepted: /1 true yes on/ },
  NODEREC_CAPTURE_IO: { good: [['off', 'off'], ['proxies+fd', 'proxies+fd']], bad: ['fd', 'on'], accepted: /off \| proxies \| proxies\+fd/ },
  NODEREC_ACTIVATION_PATH: { good: [['src/a.js', 'src/a.js']], bad: ['x\0'], accepted: /non-empty path/ },
  NODEREC_MAX_EVENTS: { good: [['0', 0], ['1000', 1000]], bad: ['-1', '1e3', 'lots', '99999999999999999999'], accepted: /integer >= 0/ },
  NODEREC_VALUE_DEPTH: { good: [['0', 0], ['32', 32]], bad: ['33', '-1', '2.5'], accepted: /integer from 0 to 32/ },
  NODEREC_VALUE_ITEMS: { good: [['5', 5]], bad: ['five'], accepted: /integer >= 0/ },
  NODEREC_VALUE_STRING: { good: [['1024', 1024]], bad: ['1k'], accepted: /integer >= 0/ },
  NODEREC_VALUE_THIS_DEPTH: { good: [['1', 1]], bad: ['x'], accepted: /integer from 0 to 32/ },
  NODEREC_VALUE_BUDGET: { good: [['0', 0], ['4096', 4096]], bad: ['lots', '-1'], accepted: /integer >= 0/ },
  NODEREC_VALUE_MEMO_KIB: { good: [['0', 0], ['1024', 1024]], bad: ['big', '-1'], accepted: /integer >= 0/ },
  NODEREC_VALUE_REFS: { good: [['0', false], ['yes', true]], bad: ['sometimes'], accepted: /1 true yes on/ },
  NODEREC_VALUE_SHAPE_WITNESS: { good: [['1', true], ['off', false]], bad: ['maybe'], accepted: /1 true yes on/ },
  NODEREC_CAPTURE_VALUES: { good: [['on', true], ['false', false]], bad: ['none'], accepted: /1 true yes on/ },
  NODEREC_CLOCK: { good: [['precise', 'precise'], ['published', 'published']], bad: ['fast', 'PRECISE!'], accepted: /published/ },
  NODEREC_STACK_ROOM: { good: [['100', 100], ['160', 160], ['400', 400]], bad: ['99', '401', '1.5', 'big'], accepted: /integer from 100 to 400/ },
  NODEREC_SCOPE: { good: [['project', 'project'], ['ALL', 'all'], [' all ', 'all']], bad: ['mine', 'node_modules'], accepted: /project \| all/ },
  NODEREC_LOG_LEVEL: { good: [['debug', 'debug'], ['ERROR', 'error']], bad: ['verbose', 'warning'], accepted: /error \| warn \| info \| debug \| trace/ },
  NODEREC_LOG_FILE: { good: [['/tmp/log.jsonl', '/tmp/log.jsonl']], bad: ['\0'], accepted: /non-empty path/ },
  NODEREC_JSON_ERRORS: { good: [['1', true], ['no', false]], bad: ['json'], accepted: /1 true yes on/ },
  NODEREC_CACHE_DIR: { good: [['/tmp/cache', '/tmp/cache']], bad: ['a\0b'], accepted: /non-empty path/ },
  NODEREC_NO_CACHE: { good: [['1', true], ['false', false]], bad: ['x', 'maybe'], accepted: /1 true yes on/ },
  NODEREC_CLEAR_HOLD_MB: { good: [['1', 1], ['64', 64]], bad: ['0', '-1', '1.5', 'lots'], accepted: /integer >= 1/ },
  NODEREC_JSONL_TOP_TIME: { good: [['1', true], ['off', false]], bad: ['t'], accepted: /1 true yes on/ },
  NODEREC_SPAN_CHANNELS: { good: [['mylib.query', ['mylib.query']], ['a:b,fastify.request.handler', ['a:b', 'fastify.request.handler']]], bad: [',', 'a,,b', 'a b', 'a,'], accepted: /names separated by commas/ },
};

afterEach(() => resetPolicy());

describe('every variable', () => {
  it('has a case here, a flag and a default', () => {
    expect(new Set(Object.keys(CASES))).toEqual(new Set(SETTINGS.map((s) => s.env)));
    for (const s of SETTINGS) {
      expect(s.flag).toMatch(/^--[a-z-]+$/);
      expect(s.key in DEFAULT_POLICY).toBe(true);
    }
  });

  for (const s of SETTINGS) {
    const c = CASES[s.env];
    it(`${s.env}: defaults, parses good values, rejects bad ones naming variable, value and what is accepted`, () => {
      expect(policyFromEnv({})[s.key]).toEqual(DEFAULT_POLICY[s.key]);
      // Empty counts as unset.
      expect(policyFromEnv({ [s.env]: '' })[s.key]).toEqual(DEFAULT_POLICY[s.key]);
      for (const [text, value] of c.good) expect(policyFromEnv({ [s.env]: text })[s.key]).toEqual(value);
      for (const text of c.bad) {
        const e = policyErrorOf(() => policyFromEnv({ [s.env]: text }));
        expect(e.code).toBe('ERR_INVALID_POLICY_VALUE');
        expect(e.variable).toBe(s.env);
        expect(e.value).toBe(text);
        expect(e.accepted).toMatch(c.accepted);
        expect(e.message).toContain(s.env);
        expect(e.message).toContain(JSON.stringify(text));
      }
    });
  }

  it('booleans accept 1 true yes on / 0 false no off in any case, with spaces around', () => {
    for (const t of ['1', 'true', 'YES', 'On', ' true ']) expect(policyFromEnv({ NODEREC_REQUIRE_TRACE: t }).requireTrace).toBe(true);
    for (const t of ['0', 'FALSE', 'no', 'oFF']) expect(policyFromEnv({ NODEREC_REQUIRE_TRACE: t }).requireTrace).toBe(false);
  });

  it('the default table matches design.md', () => {
    expect(DEFAULT_POLICY).toMatchObject({
      disabled: false,
      outDir: './noderec-traces',
      traceFilter: [],
      onRecorderError: 'abort',
      requireTrace: false,
      keepPartialTrace: false,
      captureIo: 'proxies',
      activationPath: null,
      maxEvents: 0,
      valueDepth: 3,
      valueItems: 32,
      valueString: 256,
      logLevel: 'warn',
      logFile: null,
      jsonErrors: false,
    });
  });

  it("README's settings table lists exactly SETTINGS, in order, with their flags", () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    // The Policy section only (other tables mention settings too).
    const from = readme.indexOf('## Policy');
    const section = readme.slice(from, readme.indexOf('\n## ', from + 1));
    const rows = section
      .split('\n')
      .filter((l) => l.startsWith('| `NODEREC_'))
      .map((l) => l.split('|').map((c) => c.trim()));
    expect(rows.map((r) => r[1].replace(/`/g, ''))).toEqual(SETTINGS.map((s) => s.env));
    expect(rows.map((r) => r[2].split(' ')[0].replace(/`/g, ''))).toEqual(SETTINGS.map((s) => s.flag));
  });

  it('the environment layer holds only what is set', () => {
    expect(policyLayerFromEnv({ NODEREC_MAX_EVENTS: '7', PATH: '/bin' })).toEqual({ maxEvents: 7 });
  });
});

describe('precedence: API option > configurePolicy > environment > default', () => {
  it('configurePolicy beats the environment, options beat configurePolicy', () => {
    configurePolicyFromEnv({ NODEREC_MAX_EVENTS: '10', NODEREC_LOG_LEVEL: 'info', NODEREC_VALUE_DEPTH: '5' });
    expect(policySnapshot()).toMatchObject({ maxEvents: 10, logLevel: 'info', valueDepth: 5 });
    configurePolicy({ maxEvents: 20, onRecorderError: 'disable' });
    expect(policySnapshot()).toMatchObject({ maxEvents: 20, logLevel: 'info', onRecorderError: 'disable', valueDepth: 5 });
    expect(resolvePolicy({ maxEvents: 30, logLevel: 'error' })).toMatchObject({ maxEvents: 30, logLevel: 'error', valueDepth: 5 });
    // undefined options are ignored; the snapshot is frozen and a copy.
    expect(resolvePolicy({ maxEvents: undefined }).maxEvents).toBe(20);
    const snap = policySnapshot();
    expect(Object.isFrozen(snap)).toBe(true);
    expect(() => {
      (snap as { maxEvents: number }).maxEvents = 1;
    }).toThrow();
  });

  it('configurePolicyFromEnv re-reads the environment and keeps the old layer on a bad value', () => {
    configurePolicyFromEnv({ NODEREC_VALUE_ITEMS: '4' });
    expect(() => configurePolicyFromEnv({ NODEREC_VALUE_ITEMS: 'x' })).toThrow(PolicyError);
    expect(policySnapshot().valueItems).toBe(4);
  });

  it('options are validated and errors name the option and its variable', () => {
    for (const [k, v] of [
      ['maxEvents', -1],
      ['maxEvents', 1.5],
      ['valueDepth', 99],
      ['onRecorderError', 'explode'],
      ['captureIo', 'all'],
      ['requireTrace', 'sometimes'],
      ['requireTrace', 1],
      ['traceFilter', [1]],
      ['outDir', 42],
      ['logLevel', 3],
    ] as [string, unknown][]) {
      const e = policyErrorOf(() => configurePolicy({ [k]: v }));
      expect(e.variable).toMatch(new RegExp(`^${k} \\(NODEREC_[A-Z_]+\\)$`));
    }
    expect(policyErrorOf(() => configurePolicy({ nope: 1 } as never)).variable).toBe('nope');
    // Text is accepted as in the environment.
    expect(validateOption('maxEvents', '12')).toBe(12);
    expect(validateOption('requireTrace', 'yes')).toBe(true);
    expect(validateOption('activationPath', null)).toBe(null);
  });
});

describe('noderec record flags', () => {
  const base = { PATH: '/bin' };
  it('every setting has a flag that sets its variable, and flags beat the environment', () => {
    const a = parseRecordArgs(
      [
        '--out-dir', '/tmp/o',
        '--on-recorder-error', 'disable',
        '--require-trace',
        '--keep-partial-trace=true',
        '--capture-io', 'off',
        '--activation-path', '/tmp/a.js',
        '--max-events=50',
        '--value-depth', '2',
        '--value-items', '3',
        '--value-string', '4',
        '--value-this-depth', '1',
        '--no-values',
        '--log-level', 'debug',
        '--log-file', '/tmp/l.jsonl',
        '--json-errors',
        '--filter', '/tmp/f.toml',
        '--', 'node', 'x.js',
      ],
      { ...base, NODEREC_MAX_EVENTS: '7', NODEREC_LOG_LEVEL: 'error' },
    );
    expect(a.command).toEqual(['node', 'x.js']);
    expect(a.env).toMatchObject({
      NODEREC_OUT_DIR: '/tmp/o',
      NODEREC_ON_RECORDER_ERROR: 'disable',
      NODEREC_REQUIRE_TRACE: '1',
      NODEREC_KEEP_PARTIAL_TRACE: '1',
      NODEREC_CAPTURE_IO: 'off',
      NODEREC_ACTIVATION_PATH: '/tmp/a.js',
      NODEREC_MAX_EVENTS: '50',
      NODEREC_VALUE_DEPTH: '2',
      NODEREC_VALUE_ITEMS: '3',
      NODEREC_VALUE_STRING: '4',
      NODEREC_VALUE_THIS_DEPTH: '1',
      NODEREC_CAPTURE_VALUES: '0',
      NODEREC_LOG_LEVEL: 'debug',
      NODEREC_LOG_FILE: '/tmp/l.jsonl',
      NODEREC_JSON_ERRORS: '1',
      NODEREC_TRACE_FILTER: '/tmp/f.toml',
    });
    expect(a.policy).toMatchObject({ maxEvents: 50, logLevel: 'debug', onRecorderError: 'disable', captureValues: false });
    const flags = new Set(SETTINGS.map((s) => s.flag));
    expect(flags.size).toBe(SETTINGS.length);
  });

  it('the environment applies where no flag is given; --disabled and --no-<bool>', () => {
    const a = parseRecordArgs(['--no-require-trace', '--disabled', 'node', 'x.js'], { ...base, NODEREC_MAX_EVENTS: '7', NODEREC_REQUIRE_TRACE: '1' });
    expect(a.policy.maxEvents).toBe(7);
    expect(a.policy.requireTrace).toBe(false);
    expect(a.policy.disabled).toBe(true);
  });

  it('--span-channels passes the names to the program as written (not as paths)', () => {
    const a = parseRecordArgs(['--span-channels', 'mylib.query,pg:query', 'node', 'x.js'], base);
    expect(a.env.NODEREC_SPAN_CHANNELS).toBe('mylib.query,pg:query');
    expect(a.policy.spanChannels).toEqual(['mylib.query', 'pg:query']);
  });

  it('a bad flag value is ERR_INVALID_POLICY_VALUE naming the flag', () => {
    const e = policyErrorOf(() => parseRecordArgs(['--max-events', 'many', 'node', 'x.js'], base));
    expect(e.variable).toBe('--max-events');
    expect(e.value).toBe('many');
    expect(policyErrorOf(() => parseRecordArgs(['--json-errors=perhaps', 'node'], base)).variable).toBe('--json-errors');
  });

  it('a bad environment value is ERR_INVALID_POLICY_VALUE naming the variable', () => {
    const e = policyErrorOf(() => parseRecordArgs(['node', 'x.js'], { ...base, NODEREC_CAPTURE_IO: 'everything' }));
    expect(e.variable).toBe('NODEREC_CAPTURE_IO');
  });

  it('unknown flags and a missing command are usage errors', () => {
    expect(() => parseRecordArgs(['--frobnicate', 'node'], base)).toThrow(/unknown option --frobnicate/);
    expect(() => parseRecordArgs(['--max-events'], base)).toThrow(/needs a value/);
    expect(() => parseRecordArgs([], base)).toThrow(/needs a command/);
    expect(() => parseRecordArgs(['--no-out-dir', 'node'], base)).toThrow(/unknown option/);
  });
});
