/**
 * Secrets the value encoder recognises by itself, whatever name a value is
 * found under (`[secrets]` of the filter chain; see filters/default.toml):
 *
 *  - inside strings (`scrubString`): the password of a URL, query
 *    parameters and raw header lines whose name an `attr:` pattern redacts,
 *    credentials after an auth scheme (`Bearer …`), JSON web tokens, PEM
 *    private keys, AWS key ids — only the secret part is replaced, by
 *    `[redacted]`;
 *  - arrays of name/value pairs (`isPairList`): `rawHeaders`
 *    (`[name, value, …]`) and entries (`[[name, value], …]`), whose values
 *    the encoder checks against the `attr:` patterns by their names;
 *  - `process.env` (`envKeyAction`): every variable is redacted except an
 *    allow-list.
 *
 * The encoder calls these at a few points: every string value, every
 * array, and every plain object (its identity). They run on every string
 * the program passes, so the common case — a string with none of the
 * characters a secret needs — costs a few character scans and allocates
 * nothing. Reads never have side effects: array elements are read through
 * their own property descriptors.
 */

const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ObjectHasOwn = Function.prototype.call.bind(Object.prototype.hasOwnProperty) as (o: object, k: PropertyKey) => boolean;
const StringPrototypeIndexOf = Function.prototype.call.bind(String.prototype.indexOf) as (s: string, x: string, from?: number) => number;
const StringPrototypeSlice = Function.prototype.call.bind(String.prototype.slice) as (s: string, a: number, b?: number) => string;
const StringPrototypeCharCodeAt = Function.prototype.call.bind(String.prototype.charCodeAt) as (s: string, i: number) => number;
// `exec` reads the expression's flags from its internal slots; `replace`
// and `test` would look up `exec` (and `flags`) on the object, where a
// program may have patched them: only the captured `exec` is used.
const RegExpPrototypeExec = Function.prototype.call.bind(RegExp.prototype.exec) as (re: RegExp, s: string) => RegExpExecArray | null;
const decodeURIComponentSafe = decodeURIComponent;
const SetPrototypeHas = Function.prototype.call.bind(Set.prototype.has) as (set: Set<string>, v: string) => boolean;

/** `s` with each match of the global `re` replaced by `f(match)` (`null`:
 * keep it); `s` itself when nothing was replaced. */
function replaceAll(s: string, re: RegExp, f: (m: RegExpExecArray) => string | null): string {
  re.lastIndex = 0;
  let out = '';
  let last = 0;
  let changed = false;
  for (;;) {
    const m = RegExpPrototypeExec(re, s);
    if (m === null) break;
    const r = f(m);
    if (r !== null) {
      out += StringPrototypeSlice(s, last, m.index) + r;
      last = m.index + m[0].length;
      changed = true;
    }
    if (m[0].length === 0) re.lastIndex++;
  }
  return changed ? out + StringPrototypeSlice(s, last) : s;
}

/** `s` with the match of the anchored `re` replaced by `f(match)`. */
function replaceFirst(s: string, re: RegExp, f: (m: RegExpExecArray) => string): string {
  const m = RegExpPrototypeExec(re, s);
  return m === null ? s : f(m) + StringPrototypeSlice(s, m.index + m[0].length);
}

/** `[secrets]` as the chain sets it (`sessionSecrets()` of the addon). */
export interface SecretsConfig {
  strings?: string[];
  pairs?: boolean;
  envAllow?: string[];
}

const REDACTED = '[redacted]';

// Detectors, as bits.
const URL_PASSWORD = 1;
const URL_PARAMS = 2;
const HEADER_LINES = 4;
const AUTH_SCHEME = 8;
const JWT = 16;
const PRIVATE_KEY = 32;
const AWS_KEY_ID = 64;
const DETECTORS: Record<string, number> = {
  'url-password': URL_PASSWORD,
  'url-params': URL_PARAMS,
  'header-lines': HEADER_LINES,
  'auth-scheme': AUTH_SCHEME,
  jwt: JWT,
  'private-key': PRIVATE_KEY,
  'aws-key-id': AWS_KEY_ID,
};

let detect = 0;
let pairs = false;
let envAllow: Set<string> | null = null;
let envObject: object | null = null;
/** The encoder's decision for a key under the current `attr:` rule set:
 * 0 allow, 1 redact, 2 drop. */
let keyAction: (key: string) => number = () => 0;

/** Bumped whenever what scrubString() answers may change (settings, window):
 * the encoder's cache of its answers (value-encoder.ts, scrubbed) is valid
 * for one generation. */
let generation = 0;
export function secretsGeneration(): number {
  return generation;
}

/** Called at every new generation: the value encoder drops its memos (an
 * encoding made under other settings must not be referred back to). */
let onNewGeneration: () => void = () => {};
export function onSecretsChange(fn: () => void): void {
  onNewGeneration = fn;
}

/** Installs the chain's settings and the encoder's key decision. */
export function configureSecrets(cfg: SecretsConfig, decideKey: (key: string) => number): void {
  generation++;
  onNewGeneration();
  detect = 0;
  for (const n of cfg.strings ?? []) detect |= DETECTORS[n] ?? 0;
  pairs = cfg.pairs === true;
  envAllow = cfg.envAllow !== undefined ? new Set(cfg.envAllow) : null;
  envObject = envAllow !== null ? process.env : null;
  keyAction = decideKey;
}

/** Turns everything off (tests, a stopped recorder). */
export function resetSecrets(): void {
  generation++;
  onNewGeneration();
  detect = 0;
  pairs = false;
  envAllow = null;
  envObject = null;
  keyAction = () => 0;
}

// ---- strings ---------------------------------------------------------------

// scheme://user:password@ — the password, up to the `@` of the authority.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)([^\s/?#@]+)@/gi;
// ?name=value / &name=value in a URL's query (or a form body).
const QUERY_PARAM = /([?&;])([^\s=&;#?]{1,100})=([^\s&;#]*)/g;
// Name: value lines of a raw HTTP header block.
const HEADER_LINE = /(^|\n)([!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}):[ \t]*([^\r\n]*)/g;
// A credential after an auth scheme, at the start of the string.
const AUTH = /^(Bearer|Basic|Token|Digest|Negotiate|Bot)\s+\S{6,}/i;
// A JSON web token, at the start of the string.
const JWT_RE = /^eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/;
// A PEM private key, at the start of the string (after white space).
const PEM = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(-----END \1PRIVATE KEY-----|$)/g;
// An AWS access key id: the whole string.
const AWS = /^(AKIA|ASIA)[A-Z0-9]{16}$/;

function urlPassword(m: RegExpExecArray): string {
  return `${m[1]}${REDACTED}@`;
}

function queryParam(m: RegExpExecArray): string | null {
  const name = m[2];
  if (m[3].length === 0) return null;
  let key = name;
  try {
    key = decodeURIComponentSafe(name);
  } catch {
    // keep the raw name
  }
  return keyAction(key) === 0 ? null : `${m[1]}${name}=${REDACTED}`;
}

function headerLine(m: RegExpExecArray): string | null {
  if (m[3].length === 0 || keyAction(m[2]) === 0) return null;
  return `${m[1]}${m[2]}: ${REDACTED}`;
}

function authScheme(m: RegExpExecArray): string {
  return `${m[1]} ${REDACTED}`;
}

function whole(): string {
  return REDACTED;
}

/** Whether `w` starts with an auth scheme and a white-space character (any
 * case; any character of `\s`, as AUTH's `\s+`); `c0` is its first
 * character in lower case. */
function authPrefix(w: string, c0: number): boolean {
  switch (c0) {
    case 0x62: // b
      return startsWithLower(w, 'bearer ') || startsWithLower(w, 'basic ') || startsWithLower(w, 'bot ');
    case 0x74: // t
      return startsWithLower(w, 'token ');
    case 0x64: // d
      return startsWithLower(w, 'digest ');
    case 0x6e: // n
      return startsWithLower(w, 'negotiate ');
    default:
      return false;
  }
}

/** ASCII case-insensitive `w.startsWith(p)` for a lower-case `p` ending in
 * a space, which matches any white-space character of `\s`. */
function startsWithLower(w: string, p: string): boolean {
  if (w.length <= p.length) return false;
  const last = p.length - 1;
  for (let i = 1; i < last; i++) {
    if ((StringPrototypeCharCodeAt(w, i) | 0x20) !== StringPrototypeCharCodeAt(p, i)) return false;
  }
  return isSpace(StringPrototypeCharCodeAt(w, last));
}

/** Whether `c` is a character of the regular expressions' `\s`. */
function isSpace(c: number): boolean {
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return true;
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Characters looked at past the encoder's string bound: a secret that
 * starts before the cut is still recognised (and replaced whole). */
const MARGIN = 2048;
let window = 256 + MARGIN;

/** The encoder's string bound (characters it keeps of a string). */
export function setSecretsWindow(stringBound: number): void {
  generation++;
  onNewGeneration();
  window = (stringBound > 0 ? stringBound : 0) + MARGIN;
}

/** `s` with the secrets the enabled detectors recognise replaced by
 * `[redacted]`, or `s` itself (no copy) when there is none.
 *
 * Cost: strings shorter than 8 characters are returned at once; otherwise
 * three character searches ('@', '=', newline) over at most the encoder's
 * string bound plus a margin, and a look at the first character. Only a
 * string that has one of them is matched against the detectors' regular
 * expressions. A string longer than that window is looked at (and, when a
 * secret is found, recorded) up to the window: the encoder keeps less. */
/** What scrubString() may do to a string of `len` characters whose first
 * character is `c0`, decided from its guards below (kept in step with
 * them): 0 it returns the string as it is; 1 the same, when the string has
 * no '@', '=' or newline; 2 it may change it. The encoder writes a short
 * string in one pass without calling it when it can (value-encoder.ts,
 * putShortStr). */
export function scrubNeed(len: number, c0: number): number {
  if (detect === 0 || len < 8) return 0;
  // JWT (e), AWS key id (A), PEM ('-' or a newline), auth schemes (b, t, d, n in either case).
  if (c0 === 0x65 || c0 === 0x41 || c0 === 0x2d) return 2;
  const l = c0 | 0x20;
  return l === 0x62 || l === 0x74 || l === 0x64 || l === 0x6e ? 2 : 1;
}

export function scrubString(s: string): string {
  if (detect === 0 || s.length < 8) return s;
  const w = s.length > window ? StringPrototypeSlice(s, 0, window) : s;
  let out = w;
  const at = StringPrototypeIndexOf(w, '@');
  const eq = StringPrototypeIndexOf(w, '=');
  const nl = StringPrototypeIndexOf(w, '\n');
  if (at > 0 && detect & URL_PASSWORD && StringPrototypeIndexOf(w, '://') >= 0) {
    out = replaceAll(out, URL_USERINFO, urlPassword);
  }
  if (eq > 0 && detect & URL_PARAMS && (StringPrototypeIndexOf(w, '?') >= 0 || StringPrototypeIndexOf(w, '&') >= 0)) {
    out = replaceAll(out, QUERY_PARAM, queryParam);
  }
  if (nl >= 0 && detect & HEADER_LINES && StringPrototypeIndexOf(w, ':') > 0) {
    out = replaceAll(out, HEADER_LINE, headerLine);
  }
  // Secrets that make up the start of a string: looked for only when the
  // first characters are theirs.
  const c0 = StringPrototypeCharCodeAt(w, 0);
  if (c0 === 0x65 /* e */) {
    if (detect & JWT && StringPrototypeCharCodeAt(w, 1) === 0x79 && StringPrototypeCharCodeAt(w, 2) === 0x4a) out = replaceFirst(out, JWT_RE, whole);
  } else if (c0 === 0x41 /* A */) {
    if (detect & AWS_KEY_ID && w.length === 20) out = replaceFirst(out, AWS, whole);
  } else if (detect & AUTH_SCHEME && authPrefix(w, c0 | 0x20)) {
    out = replaceFirst(out, AUTH, authScheme);
  }
  if (detect & PRIVATE_KEY && (nl >= 0 || StringPrototypeCharCodeAt(w, 0) === 0x2d) && StringPrototypeIndexOf(w, 'PRIVATE KEY-----') >= 0) {
    out = replaceAll(out, PEM, whole);
  }
  return out === w ? s : out;
}

// ---- arrays of name/value pairs -------------------------------------------

/** A header or property name: what `[name, value, …]` lists hold. */
const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

function ownValue(a: object, i: number): unknown {
  const d = ObjectGetOwnPropertyDescriptor(a, i);
  return d !== undefined && ObjectHasOwn(d, 'value') ? d.value : undefined;
}

/** Whether `a` lists name/value pairs whose values are checked by name:
 * `[name, value, name, value, …]` (even length, names at even positions)
 * or a `[name, value]` entry. Decided on its first element. */
export function isPairList(a: unknown[]): boolean {
  if (!pairs || a.length < 2 || (a.length & 1) !== 0) return false;
  const first = ownValue(a, 0);
  return typeof first === 'string' && RegExpPrototypeExec(NAME, first) !== null;
}

/** The name governing element `i` of a pair list (`null`: none, e.g. the
 * element before is not a string). */
export function pairName(a: unknown[], i: number): string | null {
  if ((i & 1) === 0) return null;
  const name = ownValue(a, i - 1);
  return typeof name === 'string' ? name : null;
}

// ---- environment objects ---------------------------------------------------

/** For a key of `o`: -1 when `o` is not an environment object (the
 * encoder's own rules apply), else 1 (redact) unless the variable is
 * allowed (0). */
export function envKeyAction(o: object, key: string): number {
  if (o !== envObject || envAllow === null) return -1;
  return SetPrototypeHas(envAllow, key) ? 0 : 1;
}

/** Whether `o` is an environment object (`process.env`). */
export function isEnvObject(o: object): boolean {
  return o === envObject && envObject !== null;
}

/** Whether any [secrets] rule is on. */
export function secretsOn(): boolean {
  return detect !== 0 || pairs || envObject !== null;
}

