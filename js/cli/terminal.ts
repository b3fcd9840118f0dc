// Text from a trace (program names, paths, arguments, values) is printed by
// the CLI; none of it may drive the terminal. `term` makes every control
// character visible: C0 (tab and newline included), DEL, C1 (U+0080–U+009F,
// e.g. the CSI U+009B), the line and paragraph separators, and the
// bidirectional overrides and isolates that reorder what is shown.

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function visible(c: string): string {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
}

/** `s` with every control character written as `\xHH` or `\u{HHHH}`. */
export function term(s: string): string {
  return s.replace(CONTROL, visible);
}
