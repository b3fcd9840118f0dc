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
import { fileURLToPath, pathToFileURL } from 'node:url';

import { native } from '../native';

const NO_MAP = '\n//# sourceMappingURL=data:,';

/** True while V8 coverage is being written (c8, `node --test --experimental-test-coverage`). */
export function coverageCollected(): boolean {
  const d = process.env.NODE_V8_COVERAGE;
  return typeof d === 'string' && d.length > 0;
}

/** The instrumented code with a map to `filename` in place of the no-map
 * comment, when coverage is collected; `code` as it is otherwise (or when
 * the file on disk is not the source that was instrumented). */
export function withCoverageMap(code: string, filename: string): string {
  if (!coverageCollected() || !code.endsWith(NO_MAP) || filename.startsWith('node:')) return code;
  let info: { source: string; lines: Record<string, Array<[number, number]>> } | null;
  try {
    info = native().fatalSourceInfo(filename.startsWith('file:') ? fileURLToPath(filename) : filename);
  } catch {
    return code;
  }
  if (info === null) return code;
  const url = filename.startsWith('file:') ? filename : pathToFileURL(filename).href;
  const map = { version: 3, sources: [url], names: [], mappings: mappings(info.source, info.lines) };
  return `${code.slice(0, -NO_MAP.length)}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}`;
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

/** 0 word characters, 1 white space, 2 anything else (each its own token). */
function charClass(c: number): number {
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 36 || c === 95 || c > 127) return 0;
  if (c === 32 || c === 9) return 1;
  return 2;
}

/** The `mappings` of a map from the instrumented code to `source`, given the
 * insertions per 0-based line as [generated column, length]. */
export function mappings(source: string, inserted: Record<string, Array<[number, number]>>): string {
  const lines = source.split(/\r\n|\r|\n|\u2028|\u2029/);
  let prevOrigLine = 0;
  let prevOrigCol = 0;
  const out: string[] = [];
  for (let line = 0; line < lines.length; line++) {
    const text = lines[line];
    const ins = inserted[String(line)] ?? [];
    let prevGen = 0;
    const segs: string[] = [];
    // The empty line after a final line break is no line of the file for
    // the tools (what the recorder appends there maps to the end of the file).
    const past = line > 0 && line === lines.length - 1 && text.length === 0;
    const origLine = past ? line - 1 : line;
    const seg = (gen: number, orig: number): void => {
      const o = past ? lines[line - 1].length : orig;
      segs.push(vlq(gen - prevGen) + 'A' + vlq(origLine - prevOrigLine) + vlq(o - prevOrigCol));
      prevGen = gen;
      prevOrigLine = origLine;
      prevOrigCol = o;
    };
    let k = 0;
    let shift = 0;
    for (let col = 0; col <= text.length; col++) {
      // Insertions before this original column.
      while (k < ins.length && ins[k][0] - shift <= col) {
        const [gen, len] = ins[k];
        seg(gen, col);
        shift += len;
        k++;
        if (col < text.length) seg(col + shift, col);
      }
      if (col === text.length) break;
      const boundary = col === 0 || charClass(text.charCodeAt(col)) === 2 || charClass(text.charCodeAt(col)) !== charClass(text.charCodeAt(col - 1));
      if (boundary && (segs.length === 0 || prevGen !== col + shift)) seg(col + shift, col);
    }
    // The end of the line (a range ending there: c8 looks for a mapping at or after its end).
    if (segs.length === 0 || prevGen !== text.length + shift) seg(text.length + shift, text.length);
    out.push(segs.join(','));
  }
  // The line of the map comment (the module's range ends there): the end of the file.
  const last = lines.length > 1 && lines[lines.length - 1].length === 0 ? lines.length - 2 : lines.length - 1;
  const end = lines[last].length;
  out.push(`A${'A'}${vlq(last - prevOrigLine)}${vlq(end - prevOrigCol)},${vlq(END_OF_COMMENT)}AAA`);
  return out.join(';');
}
