// Coverage tools (c8, Node's `--experimental-test-coverage`) read V8's
// coverage of the code as it ran: recorded, the instrumented code. V8 counts
// ranges by offsets in that code; the tools place them in the file on disk,
// so without a map every range after a probe lands on other characters (a
// branch that never ran shows as covered), and the no-map comment every
// instrumented file ends with (`//# sourceMappingURL=data:,`, for
// runtime/fatal-report.ts) is an entry of Node's source map cache with no
// map, on which Node's report fails ("Could not report code coverage").
//
// So, while coverage is collected (NODE_V8_COVERAGE, which both set), an
// instrumented file without a map of its own ends with a map from the
// instrumented code to the file: lines keep their numbers, and on each line
// the original text starts a segment at every token boundary (V8's ranges
// start and end at tokens), an insertion maps to the place where it was
// inserted. The tools then count what they count without the recorder
// (test/integration/coverage-tools.test.ts).
import * as fs from 'node:fs';
import * as nodeUrl from 'node:url';

import { buildSalt, native } from '../native';
import {
  ArrayPrototypeJoin,
  BufferFrom,
  BufferPrototypeToString,
  JSONStringify,
  RegExpPrototypeExec,
  StringPrototypeCharCodeAt,
  StringPrototypeEndsWith,
  StringPrototypeSlice,
  StringPrototypeStartsWith,
} from '../runtime/primordials';

// Taken at load: the program may replace them on the modules (decision 54).
const statSync = fs.statSync;
const fileURLToPath = nodeUrl.fileURLToPath;
const pathToFileURL = nodeUrl.pathToFileURL;

const NO_MAP = '\n//# sourceMappingURL=data:,';

/** True while V8 coverage is being written (c8, `node --test --experimental-test-coverage`). */
export function coverageCollected(): boolean {
  const d = process.env.NODE_V8_COVERAGE;
  return typeof d === 'string' && d.length > 0;
}

/** The instrumented code with a map to `filename` in place of the no-map
 * comment, when coverage is collected; `code` as it is otherwise (or when
 * the file on disk is not the source that was instrumented).
 *
 * The map is kept in the instrumentation cache (decisions.md 58): a file's
 * instrumented text, so its map, is the same in every process, and building
 * it costs about 0.4 µs per character, paid again in every test process. */
export function withCoverageMap(code: string, filename: string): string {
  if (!coverageCollected() || !StringPrototypeEndsWith(code, NO_MAP) || StringPrototypeStartsWith(filename, 'node:')) return code;
  const b = native();
  const isUrl = StringPrototypeStartsWith(filename, 'file:');
  const file = isUrl ? fileURLToPath(filename) : filename;
  const url = isUrl ? filename : pathToFileURL(filename).href;
  const own = mapSalt();
  // Without this file's own salt, the map is built and not kept.
  const key = own === null ? null : `${own}\0${url}`;
  let comment: string | null = null;
  if (key !== null) {
    try {
      comment = b.cachedCoverageMap(file, key);
    } catch {
      comment = null;
    }
  }
  if (comment === null) {
    let info: { source: string; lines: Record<string, Array<[number, number]>> } | null;
    try {
      info = b.fatalSourceInfo(file);
    } catch {
      return code;
    }
    if (info === null) return code;
    const map = { version: 3, sources: [url], names: [], mappings: mappings(info.source, info.lines) };
    comment = `\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${BufferPrototypeToString(BufferFrom(JSONStringify(map)), 'base64')}`;
    if (key !== null) {
      try {
        b.storeCoverageMap(file, key, comment);
      } catch {
        // A map that cannot be kept is built again next time.
      }
    }
  }
  return StringPrototypeSlice(code, 0, -NO_MAP.length) + comment;
}

let salt: string | null | undefined;

/** The addon's build and this file's, in the key of a cached map: a map
 * built by other code is not taken. `null` when this file cannot be read:
 * maps are then built and not kept (a salt new in each process would only
 * fill the cache: review56). */
function mapSalt(): string | null {
  if (salt === undefined) {
    try {
      const st = statSync(__filename);
      salt = `${buildSalt()}:${st.size}-${st.mtimeMs}`;
    } catch {
      salt = null;
    }
  }
  return salt;
}

/** A column past the end of the map comment's line (its length is not known while the map is built). */
const END_OF_COMMENT = 1 << 30;

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function vlq(n: number): string {
  let v = n < 0 ? (-n << 1) | 1 : n << 1;
  let s = '';
  do {
    let digit = v & 31;
    v >>>= 5;
    if (v > 0) digit |= 32;
    s += B64[digit];
  } while (v > 0);
  return s;
}

/** 0 word characters, 1 white space, 2 anything else (each its own token; line terminators too). */
function charClass(c: number): number {
  if (c === 0x2028 || c === 0x2029) return 2;
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 36 || c === 95 || c > 127) return 0;
  if (c === 32 || c === 9) return 1;
  return 2;
}

/** The `mappings` of a map from the instrumented code to `source`, given the
 * insertions per 0-based line as [generated column, length] (lines numbered
 * at every ECMAScript line terminator, as the native side does).
 *
 * Lines are numbered as the tools number them, not as JavaScript does: in
 * the instrumented code at \n, U+2028 and U+2029 (Node's `lineLengths` of
 * the code it ran, which both c8 and Node's report use), in the file at \n
 * only (both split the file on it); a lone CR breaks neither. */
export function mappings(source: string, inserted: Record<string, Array<[number, number]>>): string {
  // The insertions as [offset in the source, length], in order.
  const starts = [0];
  const breaks = /\r\n|\r|\n|\u2028|\u2029/g;
  for (let m = RegExpPrototypeExec(breaks, source); m !== null; m = RegExpPrototypeExec(breaks, source)) starts[starts.length] = m.index + m[0].length;
  const ins: Array<[number, number]> = [];
  for (let line = 0; line < starts.length; line++) {
    let shift = 0;
    const at = inserted['' + line];
    if (at === undefined) continue;
    for (let i = 0; i < at.length; i++) {
      const gen = at[i][0];
      const len = at[i][1];
      ins[ins.length] = [starts[line] + gen - shift, len];
      shift += len;
    }
  }
  const n = source.length;
  // After a final \n there is no line of the file for the tools: what the
  // recorder appends there maps to where that \n (or \r\n) starts.
  const endsWithBreak = n > 0 && StringPrototypeCharCodeAt(source, n - 1) === 10;
  const out: string[] = [];
  let segs: string[] = [];
  let prevGen = 0;
  let prevOrigLine = 0;
  let prevOrigCol = 0;
  const seg = (gen: number, origLine: number, origCol: number): void => {
    segs[segs.length] = vlq(gen - prevGen) + 'A' + vlq(origLine - prevOrigLine) + vlq(origCol - prevOrigCol);
    prevGen = gen;
    prevOrigLine = origLine;
    prevOrigCol = origCol;
  };
  let genCol = 0;
  let origLine = 0;
  let origCol = 0;
  // The place of the character before (a line break: where it starts).
  let beforeLine = 0;
  let beforeCol = 0;
  let k = 0;
  for (let p = 0; p <= n; p++) {
    const past = p === n && endsWithBreak;
    const oLine = past ? beforeLine : origLine;
    const oCol = past ? beforeCol : origCol;
    while (k < ins.length && ins[k][0] <= p) {
      // An insertion maps to the original character before it: both tools
      // place a range's end by its last character (`end - 1`) and add one,
      // so a range that ends in or after an insertion (the try/finally
      // around a body, a return's wrapper) ends where the program's text
      // ends, not one character on.
      if (p === 0 || past) seg(genCol, oLine, oCol);
      else seg(genCol, beforeLine, beforeCol);
      genCol += ins[k][1];
      k++;
      seg(genCol, oLine, oCol);
    }
    if (p === n) {
      // The end of the file (a range ending there: c8 looks for a mapping at or after its end).
      if (segs.length === 0 || prevGen !== genCol) seg(genCol, oLine, oCol);
      break;
    }
    const c = StringPrototypeCharCodeAt(source, p);
    // V8's ranges start and end at tokens: a segment at each boundary.
    // (`${` in a template starts a token after text of the same class.)
    const boundary =
      genCol === 0 ||
      charClass(c) === 2 ||
      charClass(c) !== charClass(StringPrototypeCharCodeAt(source, p - 1)) ||
      (c === 36 && StringPrototypeCharCodeAt(source, p + 1) === 123);
    if (boundary && (segs.length === 0 || prevGen !== genCol)) seg(genCol, oLine, oCol);
    beforeLine = origLine;
    beforeCol = c === 10 && p > 0 && StringPrototypeCharCodeAt(source, p - 1) === 13 ? origCol - 1 : origCol;
    if (c === 10) {
      origLine++;
      origCol = 0;
    } else {
      origCol++;
    }
    if (c === 10 || c === 0x2028 || c === 0x2029) {
      // One past the line break: Node's report (Node 24) looks a range that
      // starts at the next line's first character up there (its lines' ends
      // are inclusive); it belongs to the next line.
      if (!(p + 1 === n && c === 10)) seg(genCol + 1, origLine, origCol);
      out[out.length] = ArrayPrototypeJoin(segs, ',');
      segs = [];
      prevGen = 0;
      genCol = 0;
    } else {
      genCol++;
    }
  }
  out[out.length] = ArrayPrototypeJoin(segs, ',');
  // The line of the map comment (the module's range ends there): the end of the file.
  const endLine = endsWithBreak ? beforeLine : origLine;
  const endCol = endsWithBreak ? beforeCol : origCol;
  out[out.length] = `A${'A'}${vlq(endLine - prevOrigLine)}${vlq(endCol - prevOrigCol)},${vlq(END_OF_COMMENT)}AAA`;
  return ArrayPrototypeJoin(out, ';');
}
