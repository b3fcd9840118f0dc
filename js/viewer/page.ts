// The viewer page: one HTML document with the UI bundle and styles inline
// (no network at run time). The report embeds its data in the same page.
import { uiBundle } from './server';

export interface PageOptions {
  mode: 'server' | 'report';
  token?: string;
  initial: string | null;
  /** Report mode: the answers, keyed as the UI asks for them. */
  data?: unknown;
}

/** JSON that is safe inside a <script> element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const CSS = `
*{box-sizing:border-box}body{margin:0;font:13px/1.35 system-ui,-apple-system,Segoe UI,sans-serif;color:#1d2330;background:#f6f7f9;height:100vh;overflow:hidden}
#app{display:grid;grid-template-columns:230px 1fr;grid-template-rows:40px 1fr;height:100vh}
header{grid-column:1/3;display:flex;align-items:center;gap:12px;padding:0 12px;background:#1d2330;color:#fff}
header h1{font-size:14px;margin:0;font-weight:600}header .prog{opacity:.85;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:420px}
.badge{padding:1px 7px;border-radius:9px;font-size:11px;background:#4b5568}.badge.recording{background:#c2410c}.badge.complete{background:#15803d}.badge.failed{background:#b91c1c}.badge.partial{background:#a16207}
header input{margin-left:auto;width:260px;padding:4px 8px;border-radius:4px;border:0}
aside{overflow:auto;border-right:1px solid #d8dce3;background:#fff}aside h2{font-size:11px;text-transform:uppercase;color:#6b7280;margin:10px 10px 4px}
.trace{padding:5px 10px;cursor:pointer;border-left:3px solid transparent}.trace:hover{background:#eef1f6}.trace.sel{background:#e3e9f7;border-left-color:#3b5bdb}
.trace .p{font-weight:500;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}.trace .m{font-size:11px;color:#6b7280}
main{display:grid;grid-template-rows:auto 1fr;overflow:hidden}
.flamebox{background:#fff;border-bottom:1px solid #d8dce3;padding:4px 8px}
.flamebar{display:flex;gap:8px;align-items:center;font-size:12px;color:#4b5563;margin-bottom:4px}.flamebar button{font-size:12px}
canvas.flame{width:100%;height:270px;display:block;cursor:crosshair;outline:none}canvas.flame:focus{box-shadow:0 0 0 2px #93a9f5}
.lower{display:grid;grid-template-columns:minmax(320px,42%) 1fr;overflow:hidden}
.panel{overflow:auto;padding:6px 10px;background:#fff;border-right:1px solid #d8dce3}
.tabs{display:flex;gap:2px;margin-bottom:6px}.tabs button{border:0;background:#eef1f6;padding:4px 10px;border-radius:4px 4px 0 0;cursor:pointer}.tabs button.on{background:#3b5bdb;color:#fff}
.row{display:flex;gap:6px;padding:2px 4px;cursor:pointer;white-space:nowrap;border-radius:3px}.row:hover{background:#eef1f6}.row.sel{background:#dbe4ff}
.row .d{color:#6b7280;margin-left:auto;font-variant-numeric:tabular-nums}.row .t{color:#6b7280;width:14px;display:inline-block}.threw{color:#b91c1c}
.details{overflow:auto;padding:8px 12px}.details h3{margin:0 0 2px;font-size:15px}.details .loc{color:#6b7280;margin-bottom:8px}
.sec{margin:10px 0 4px;font-size:11px;text-transform:uppercase;color:#6b7280;display:flex;gap:8px;align-items:center}
.val{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}.val .k{color:#7c3aed}.val .s{color:#047857}.val .n{color:#1d4ed8}.val .x{color:#6b7280}.val .tog{cursor:pointer;user-select:none;color:#6b7280}
.val .kids{padding-left:14px;border-left:1px dotted #cbd2dc;margin-left:3px}
pre.out{background:#111827;color:#e5e7eb;padding:6px 8px;border-radius:4px;max-height:160px;overflow:auto;margin:0}pre.out .stderr{color:#fca5a5}
pre.src{background:#f3f4f6;padding:6px 0;border-radius:4px;overflow:auto;margin:0;font-size:12px}pre.src span{display:block;padding:0 8px}pre.src span.hl{background:#fef3c7}pre.src i{color:#9ca3af;font-style:normal;display:inline-block;width:38px}
button.small{font-size:11px;padding:0 6px;cursor:pointer}.spanrow{position:relative;margin-bottom:2px;overflow:hidden}.spanrow .sp{position:absolute;height:14px;font-size:10px;line-height:14px;padding:0 3px;border-radius:3px;background:#c7d2fe;color:#1e1b4b;white-space:nowrap;overflow:hidden;box-sizing:border-box;min-width:2px}.spanrow .sp.error{background:#fecaca;color:#7f1d1d}.spanrow .sp.unfinished{background:repeating-linear-gradient(45deg,#e5e7eb,#e5e7eb 4px,#f3f4f6 4px,#f3f4f6 8px);color:#374151}
.runsel{display:flex;gap:6px;align-items:center;font-size:12px;color:#4b5563;margin-bottom:6px}.runsel select{flex:1;min-width:0}
.hist .h{border-bottom:1px solid #eef1f6;padding:4px 0}.chg{font-family:ui-monospace,monospace;font-size:12px}.chg.added{color:#047857}.chg.removed{color:#b91c1c}.chg.changed{color:#a16207}
.empty{color:#6b7280;padding:12px}.banner{background:#fef3c7;padding:4px 10px;font-size:12px}
`;

/** The page HTML. */
export function pageHtml(o: PageOptions): string {
  const boot = { mode: o.mode, token: o.token ?? null, initial: o.initial, data: o.data ?? null };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>noderec viewer</title><style>${CSS}</style></head>
<body><div id="app"></div>
<script>window.__NODEREC__=${scriptJson(boot)};</script>
<script>${uiBundle().replace(/<\/script/gi, '<\\/script')}</script>
</body></html>
`;
}
