// The noderec viewer UI (preact + htm, bundled by esbuild into
// js/dist/viewer/ui.js). Talks to the local server (`noderec view`) or, in
// a report, to the answers embedded in the page (./static-api.js).
import { html, render } from 'htm/preact';
import { useState, useEffect, useRef } from 'preact/hooks';

import { staticApi } from './static-api.js';
import { drawFlame, hitTest } from './flame.js';

const boot = window.__NODEREC__ || { mode: 'server' };

async function serverApi(route, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  q.set('token', boot.token);
  const r = await fetch(`/api/${route}?${q}`);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${r.status}`);
  return body;
}

const api = boot.mode === 'report' ? staticApi(boot.data) : serverApi;

export function fmtNs(ns) {
  if (ns < 1e3) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

// ---------------------------------------------------------------- values

function short(v) {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 39) + '…' : v);
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `Array(${v.length})`;
  switch (v.$) {
    case 'object': {
      const ks = Object.entries(v.props || {});
      const inner = ks.slice(0, 3).map(([k, x]) => `${k}: ${typeof x === 'object' && x !== null ? '…' : short(x)}`).join(', ');
      return `${v.class && v.class !== 'Object' ? v.class + ' ' : ''}{${inner}${ks.length > 3 || v.total ? ', …' : ''}}`;
    }
    case 'array': return `Array(${v.length})`;
    case 'map': return `Map(${v.size})`;
    case 'set': return `Set(${v.size})`;
    case 'undefined': return 'undefined';
    case 'number': case 'bigint': return `${v.v}${v.$ === 'bigint' ? 'n' : ''}`;
    case 'string': return JSON.stringify(v.v) + `… (${v.length})`;
    case 'function': return `ƒ ${v.name || '(anonymous)'}`;
    case 'error': return `${v.class || 'Error'}: ${v.message ?? ''}`;
    case 'date': return `Date ${v.v}`;
    case 'regexp': return `/${v.source}/${v.flags}`;
    case 'symbol': return `Symbol(${short(v.description)})`;
    case 'circular': return `[circular ↑${v.up}]`;
    case 'bytes': return `${v.class}(${v.length})`;
    default: return `[${v.$}${v.class ? ' ' + v.class : ''}]`;
  }
}

function entries(v) {
  if (Array.isArray(v)) return v.map((x, i) => [String(i), x]);
  if (v && typeof v === 'object') {
    if (v.$ === 'object') return Object.entries(v.props || {});
    if (v.$ === 'array') return (v.items || []).map((x, i) => [String(i), x]);
    if (v.$ === 'set') return (v.values || []).map((x, i) => [String(i), x]);
    if (v.$ === 'map') return (v.entries || []).map(([k, x]) => [typeof k === 'string' ? k : short(k), x]);
    if (v.$ === 'error') return Object.entries(v).filter(([k]) => k !== '$');
  }
  return null;
}

function leafClass(v) {
  if (typeof v === 'string' || (v && v.$ === 'string')) return 's';
  if (typeof v === 'number' || (v && (v.$ === 'number' || v.$ === 'bigint'))) return 'n';
  return 'x';
}

function Value({ name, v, open: open0 = false }) {
  const kids = entries(v);
  const [open, setOpen] = useState(open0);
  if (kids === null || kids.length === 0) {
    return html`<div class="val">${name !== undefined ? html`<span class="k">${name}</span>: ` : ''}<span class=${leafClass(v)}>${short(v)}</span></div>`;
  }
  return html`<div class="val">
    <span class="tog" role="button" tabindex="0" data-key=${name} onClick=${() => setOpen(!open)}
      onKeyDown=${(e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), setOpen(!open))}>${open ? '▾' : '▸'}</span>
    ${name !== undefined ? html`<span class="k">${name}</span>: ` : ''}<span class="x">${short(v)}</span>
    ${open && html`<div class="kids">${kids.slice(0, 500).map(([k, x]) => html`<${Value} key=${k} name=${k} v=${x} />`)}</div>`}
  </div>`;
}

// ---------------------------------------------------------------- flame

/** User spans (span(), startSpan(), the http bridges) of the thread in the view, as a row of lanes above the flame chart. */
function SpanRow({ trace, thread, view, run }) {
  const [spans, setSpans] = useState([]);
  useEffect(() => {
    if (!view) return;
    let cancelled = false;
    api('spans', { id: trace.id, thread, from: Math.floor(view.from), to: Math.ceil(view.to), run, limit: 2000 }).then((r) => { if (!cancelled) setSpans(r); }, () => {});
    return () => { cancelled = true; };
  }, [trace.id, thread, view && view.from, view && view.to, run, trace.events]);
  if (!view || spans.length === 0) return null;
  const span = Math.max(1, view.to - view.from);
  const ends = [];
  const placed = spans.map((s) => {
    let lane = ends.findIndex((e) => e <= s.startNs);
    if (lane < 0) lane = ends.length < 4 ? ends.length : ends.length - 1;
    ends[lane] = Math.max(ends[lane] || 0, s.endNs);
    return { s, lane };
  });
  const pct = (ns) => Math.min(100, Math.max(0, ((ns - view.from) / span) * 100));
  return html`<div class="spanrow" style=${`height:${ends.length * 16}px`}>
    ${placed.map(({ s, lane }, i) => html`<div key=${i} class=${'sp ' + s.status} data-name=${s.name}
      style=${`left:${pct(s.startNs)}%;width:${Math.max(0.2, pct(s.endNs) - pct(s.startNs))}%;top:${lane * 16}px`}
      title=${`${s.name} · ${s.status} · ${fmtNs(s.endNs - s.startNs)}${s.run ? ` · run ${s.run}` : ''}`}>${s.name}</div>`)}
  </div>`;
}

function Flame({ trace, thread, sel, onSelect, liveTick, run }) {
  const ref = useRef(null);
  const [view, setView] = useState(null);
  const rects = useRef([]);
  const drag = useRef(null);
  const th = trace.threads.find((t) => t.id === thread) || trace.threads[0];
  const full = () => ({ from: th ? th.firstNs : 0, to: th ? Math.max(th.lastNs, th.firstNs + 1000) : 1000 });
  useEffect(() => setView(full()), [trace.id, thread]);
  // A live trace: keep following the end while the view shows it.
  const lastEnd = useRef(0);
  useEffect(() => {
    const prev = lastEnd.current;
    if (th) lastEnd.current = th.lastNs;
    if (view && th && th.lastNs > prev && view.to >= prev - 1) setView({ from: view.from, to: Math.max(th.lastNs, view.from + 1000) });
  }, [liveTick, trace.events]);
  useEffect(() => {
    if (!view || !ref.current) return;
    let cancelled = false;
    const c = ref.current;
    const px = Math.max(100, Math.floor(c.clientWidth));
    api('flame', { id: trace.id, thread, from: Math.floor(view.from), to: Math.ceil(view.to), px }).then((r) => {
      if (cancelled) return;
      rects.current = r;
      drawFlame(c, r, view, trace.functions, sel && sel.thread === thread ? sel.act : 0);
    });
    return () => { cancelled = true; };
  }, [view, sel, trace.events]);
  if (!view) return null;
  const zoom = (f, at) => {
    const span = view.to - view.from;
    const x = at === undefined ? 0.5 : at;
    const ns = Math.max(1000, span * f);
    const center = view.from + span * x;
    setView({ from: Math.max(0, center - ns * x), to: center + ns * (1 - x) });
  };
  const pan = (f) => {
    const d = (view.to - view.from) * f;
    setView({ from: Math.max(0, view.from + d), to: view.to + d });
  };
  const onWheel = (e) => {
    e.preventDefault();
    const b = ref.current.getBoundingClientRect();
    if (e.shiftKey) pan(e.deltaY > 0 ? 0.1 : -0.1);
    else zoom(e.deltaY > 0 ? 1.25 : 0.8, (e.clientX - b.left) / b.width);
  };
  const onDown = (e) => { drag.current = { x: e.clientX, view, moved: false }; };
  const onMove = (e) => {
    const d = drag.current;
    if (!d) return;
    const dx = e.clientX - d.x;
    if (Math.abs(dx) > 3) d.moved = true;
    if (!d.moved) return;
    const w = ref.current.getBoundingClientRect().width;
    const shift = -(dx / w) * (d.view.to - d.view.from);
    setView({ from: Math.max(0, d.view.from + shift), to: d.view.to + shift });
  };
  const onUp = (e) => {
    const d = drag.current;
    drag.current = null;
    if (d && d.moved) return;
    const b = ref.current.getBoundingClientRect();
    const r = hitTest(rects.current, view, b.width, e.clientX - b.left, e.clientY - b.top);
    if (r) onSelect({ thread, act: r.activation });
  };
  const onKey = (e) => {
    if (e.key === '+' || e.key === '=') zoom(0.8);
    else if (e.key === '-') zoom(1.25);
    else if (e.key === '0') setView(full());
    else if (e.key === 'a' || e.key === 'h') pan(-0.1);
    else if (e.key === 'd' || e.key === 'l') pan(0.1);
    else return;
    e.preventDefault();
  };
  return html`<div>
    <div class="flamebar">
      <span>${fmtNs(view.from - (th ? th.firstNs : 0))} – ${fmtNs(view.to - (th ? th.firstNs : 0))}</span>
      <button onClick=${() => zoom(0.5)} title="zoom in (+)">+</button><button onClick=${() => zoom(2)} title="zoom out (-)">−</button>
      <button onClick=${() => setView(full())} title="whole thread (0)">fit</button>
      <span style="margin-left:auto">wheel: zoom · drag: pan · click: select · ←↑→↓ move through calls</span>
    </div>
    <${SpanRow} trace=${trace} thread=${thread} view=${view} run=${run} />
    <canvas class="flame" tabindex="0" ref=${ref} onWheel=${onWheel} onMouseDown=${onDown} onMouseMove=${onMove} onMouseUp=${onUp} onMouseLeave=${() => (drag.current = null)} onKeyDown=${onKey}></canvas>
  </div>`;
}

// ---------------------------------------------------------------- lists

function Row({ a, sel, onSelect, indent = 0, toggle, open }) {
  const isSel = sel && sel.thread === a.thread && sel.act === a.activation;
  return html`<div class=${'row' + (isSel ? ' sel' : '')} style=${`padding-left:${4 + indent * 14}px`} data-act=${a.activation}
      onClick=${() => onSelect({ thread: a.thread, act: a.activation })}>
    ${toggle ? html`<span class="t" onClick=${(e) => (e.stopPropagation(), toggle())}>${open ? '▾' : '▸'}</span>` : ''}
    <span class=${a.threw ? 'threw' : ''}>${a.name}</span>${a.finished ? '' : html`<span class="x"> (running)</span>`}
    <span class="d">${fmtNs(a.durNs)}</span>
  </div>`;
}

function TreeNode({ trace, a, sel, onSelect, depth, run }) {
  const [open, setOpen] = useState(false);
  const [kids, setKids] = useState(null);
  const toggle = async () => {
    if (!open && kids === null) setKids(await api('children', { id: trace.id, thread: a.thread, act: a.activation, run }));
    setOpen(!open);
  };
  return html`<div>
    <${Row} a=${a} sel=${sel} onSelect=${onSelect} indent=${depth} toggle=${toggle} open=${open} />
    ${open && kids && kids.map((k) => html`<${TreeNode} key=${k.activation} trace=${trace} a=${k} sel=${sel} onSelect=${onSelect} depth=${depth + 1} run=${run} />`)}
  </div>`;
}

function CallTree({ trace, thread, sel, onSelect, liveTick, run }) {
  const [roots, setRoots] = useState([]);
  useEffect(() => { api('children', { id: trace.id, thread, act: 0, limit: 500, run }).then(setRoots); }, [trace.id, thread, liveTick, run]);
  if (roots.length === 0) return html`<div class="empty">${run ? 'no calls of this run on this thread' : 'no calls recorded on this thread'}</div>`;
  return html`<div key=${run || ''}>${roots.map((a) => html`<${TreeNode} key=${a.activation} trace=${trace} a=${a} sel=${sel} onSelect=${onSelect} depth=${0} run=${run} />`)}</div>`;
}

/** The runs of the trace (noderec.run): all calls, or those made in one run (and the runs nested in it). */
function RunSelect({ trace, run, setRun }) {
  const runs = trace.runs || [];
  if (runs.length === 0) return null;
  const label = (r) => [r.runId, r.domain, r.sampleId !== undefined && r.sampleId !== null ? `sample ${r.sampleId}` : '', r.iteration != null ? `iteration ${r.iteration}` : '', `${r.events} events`].filter(Boolean).join(' · ');
  return html`<label class="runsel">run <select id="run-select" value=${run} onChange=${(e) => setRun(e.target.value)}>
    <option value="">all calls</option>
    ${runs.map((r) => html`<option value=${r.runId} title=${r.parentRunId ? `nested in ${r.parentRunId}` : ''}>${label(r)}</option>`)}
  </select></label>`;
}

function List({ rows, sel, onSelect, empty }) {
  if (rows === null) return html`<div class="empty">loading…</div>`;
  if (rows.length === 0) return html`<div class="empty">${empty}</div>`;
  return html`<div>${rows.map((a) => html`<${Row} key=${a.thread + ':' + a.activation} a=${a} sel=${sel} onSelect=${onSelect} />`)}</div>`;
}

// ---------------------------------------------------------------- details

function History({ trace, fn, path, onSelect, run }) {
  const [rows, setRows] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => {
    setRows(null);
    api('history', { id: trace.id, fn, path, run }).then(setRows, (e) => setErr(String(e.message || e)));
  }, [trace.id, fn, path, run]);
  if (err) return html`<div class="empty">${err}</div>`;
  if (rows === null) return html`<div class="empty">loading…</div>`;
  return html`<div class="hist">
    <div class="sec">value history of ${path} in ${fn} (${rows.length} calls)</div>
    ${rows.map((h, i) => html`<div class="h" data-i=${i}>
      <div class="row" onClick=${() => onSelect({ thread: h.thread, act: h.activation })}>#${h.activation} <span class="d">${fmtNs(h.startNs - trace.threads[0].firstNs)}</span></div>
      <${Value} v=${h.value === undefined ? { $: 'absent' } : h.value} />
      ${h.changes.map((c) => html`<div class=${'chg ' + c.op}>${c.op === 'added' ? '+' : c.op === 'removed' ? '−' : '~'} ${c.path || '(value)'}${c.op === 'changed' ? `: ${short(c.before)} → ${short(c.after)}` : c.op === 'added' ? `: ${short(c.after)}` : ''}</div>`)}
    </div>`)}
  </div>`;
}

function Details({ trace, sel, onSelect, onHistory }) {
  const [d, setD] = useState(null);
  useEffect(() => {
    if (!sel) return setD(null);
    api('call', { id: trace.id, thread: sel.thread, act: sel.act }).then(setD, () => setD(null));
  }, [trace.id, sel && sel.thread, sel && sel.act, trace.events]);
  if (!sel) return html`<div class="empty">Select a call in the flame chart, the call tree or a list.</div>`;
  if (!d) return html`<div class="empty">loading…</div>`;
  const a = d.activation;
  const v = a.values || {};
  const args = v.args || [];
  return html`<div>
    <h3 class=${a.threw ? 'threw' : ''} id="call-name">${a.name}</h3>
    <div class="loc">${a.path}:${a.line} · thread ${a.thread} · #${a.activation} · depth ${a.depth} · ${fmtNs(a.durNs)}${a.finished ? '' : ' (still running)'}${a.suspended ? ' · async' : ''}${a.run ? ` · run ${a.run}` : ''}
      ${a.parent ? html` · <a href="#" onClick=${(e) => (e.preventDefault(), onSelect({ thread: a.thread, act: a.parent }))}>caller</a>` : ''}</div>
    <div class="sec">arguments</div>
    <div id="call-args">
    ${v.args === undefined ? html`<div class="x">not recorded</div>` : args.length === 0 ? html`<div class="x">none</div>` : args.map((x, i) => html`<div style="display:flex;gap:6px;align-items:flex-start">
        <div style="flex:1"><${Value} name=${d.params[i] || `arg${i}`} v=${x} /></div>
        <button class="small" title="value history of this argument" data-history=${i} onClick=${() => onHistory(a.name, `args.${i}`)}>history</button></div>`)}
    </div>
    ${v.this !== undefined && html`<div class="sec">this</div><${Value} name="this" v=${v.this} />`}
    ${v.error !== undefined ? html`<div class="sec">error</div><${Value} v=${v.error} open=${true} />`
      : a.threw ? html`<div class="sec">threw</div>`
      : v.value !== undefined ? html`<div class="sec">returned <button class="small" onClick=${() => onHistory(a.name, 'return')}>history</button></div><div id="call-return"><${Value} v=${v.value} /></div>` : ''}
    ${d.output.length > 0 && html`<div class="sec">output during the call</div><pre class="out">${d.output.map((o) => html`<span class=${o.stream}>${o.text}</span>`)}</pre>`}
    ${d.source && html`<div class="sec">source</div><pre class="src">${d.source.lines.map((l, i) => html`<span class=${d.source.first + i === a.line ? 'hl' : ''}><i>${d.source.first + i}</i>${l}</span>`)}</pre>`}
  </div>`;
}

// ---------------------------------------------------------------- app

function globOf(q) {
  return /[*?[\]{}]/.test(q) ? q : `*${q}*`;
}

function App() {
  const [traces, setTraces] = useState([]);
  const [id, setId] = useState(boot.initial || new URLSearchParams(location.search).get('trace'));
  const [trace, setTrace] = useState(null);
  const [thread, setThread] = useState(0);
  const [run, setRun] = useState('');
  const [sel, setSel] = useState(null);
  const [tab, setTab] = useState('tree');
  const [search, setSearch] = useState('');
  const [results, setResults] = useState(null);
  const [slow, setSlow] = useState(null);
  const [hist, setHist] = useState(null);
  const [liveTick, setLiveTick] = useState(0);
  const [error, setError] = useState(null);
  const searchRef = useRef(null);

  const loadTraces = () => api('traces').then((t) => { setTraces(t); setId((cur) => cur || (t.length > 0 ? t[0].id : cur)); });
  useEffect(() => { loadTraces(); }, []);
  const loadTrace = () => id && api('trace', { id }).then((t) => { setTrace(t); setError(null); }, (e) => setError(String(e.message || e)));
  useEffect(() => { setSel(null); setHist(null); setResults(null); setSlow(null); setRun(''); loadTrace(); }, [id]);
  useEffect(() => { setResults(null); }, [run]);
  useEffect(() => { if (trace && !trace.threads.some((t) => t.id === thread)) setThread(trace.threads.length ? trace.threads[0].id : 0); }, [trace]);
  useEffect(() => { if (trace && tab === 'slow') api('slowest', { id: trace.id, limit: 100 }).then(setSlow); }, [trace && trace.id, tab, liveTick]);

  // Live updates: WebSocket, else Server-Sent Events.
  useEffect(() => {
    if (boot.mode !== 'server') return;
    const onMsg = (text) => {
      const m = JSON.parse(text);
      if (m.type !== 'update') return;
      loadTraces();
      setLiveTick((x) => x + 1);
    };
    let es = null;
    let ws = null;
    const sse = () => { if (!es) { es = new EventSource(`/api/events?token=${encodeURIComponent(boot.token)}`); es.onmessage = (e) => onMsg(e.data); } };
    try {
      ws = new WebSocket(`ws://${location.host}/live?token=${encodeURIComponent(boot.token)}`);
      let opened = false;
      ws.onopen = () => { opened = true; window.__nrLive = 'ws'; };
      ws.onmessage = (e) => onMsg(e.data);
      ws.onerror = () => { if (!opened) { window.__nrLive = 'sse'; sse(); } };
    } catch { window.__nrLive = 'sse'; sse(); }
    return () => { if (ws) ws.close(); if (es) es.close(); };
  }, []);
  useEffect(() => { if (liveTick > 0) loadTrace(); }, [liveTick]);

  const doSearch = async (q) => {
    setTab('search');
    setResults(null);
    const page = await api('timeline', { id: trace.id, fn: globOf(q), limit: 300, values: 0, run });
    setResults(page.rows);
  };
  const onHistory = (fn, path) => { setHist({ fn, path }); setTab('history'); };

  // Keyboard: move through calls from the selection.
  useEffect(() => {
    const onKey = async (e) => {
      if (e.target && (e.target.tagName === 'INPUT')) { if (e.key === 'Escape') e.target.blur(); return; }
      if (e.key === '/') { e.preventDefault(); searchRef.current && searchRef.current.focus(); return; }
      if (!sel || !trace || !['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Escape'].includes(e.key)) return;
      e.preventDefault();
      if (e.key === 'Escape') return setSel(null);
      const d = await api('call', { id: trace.id, thread: sel.thread, act: sel.act });
      const a = d.activation;
      if (e.key === 'ArrowUp' && a.parent) setSel({ thread: a.thread, act: a.parent });
      else if (e.key === 'ArrowDown') {
        const k = await api('children', { id: trace.id, thread: a.thread, act: a.activation, limit: 1 });
        if (k.length) setSel({ thread: a.thread, act: k[0].activation });
      } else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
        const sibs = await api('children', { id: trace.id, thread: a.thread, act: a.parent, limit: 5000 });
        const i = sibs.findIndex((s) => s.activation === a.activation);
        const j = e.key === 'ArrowLeft' ? i - 1 : i + 1;
        if (i >= 0 && j >= 0 && j < sibs.length) setSel({ thread: a.thread, act: sibs[j].activation });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [sel, trace]);

  const runs = new Map();
  for (const t of traces) { const k = t.run || ''; if (!runs.has(k)) runs.set(k, []); runs.get(k).push(t); }

  return html`
    <header>
      <h1>noderec</h1>
      ${trace && html`<span class="prog" title=${trace.argv.join(' ')}>${trace.program}</span>
        <span class=${'badge ' + trace.status} id="status">${trace.status}</span>
        <span>${trace.events.toLocaleString()} events${trace.durationMs != null ? ` · ${fmtNs(trace.durationMs * 1e6)}` : ''}${trace.exitCode != null ? ` · exit ${trace.exitCode}` : ''}</span>`}
      <input ref=${searchRef} id="search" placeholder="search functions (glob) — press /" value=${search}
        onInput=${(e) => setSearch(e.target.value)} onKeyDown=${(e) => e.key === 'Enter' && search && trace && doSearch(search)} />
    </header>
    <aside>
      ${[...runs.entries()].map(([run, ts]) => html`<h2>${run ? `run ${run}` : 'traces'}</h2>
        ${ts.map((t) => html`<div class=${'trace' + (t.id === id ? ' sel' : '')} data-id=${t.id} onClick=${() => setId(t.id)}>
          <div class="p">${t.program}</div><div class="m"><span class=${'badge ' + t.status}>${t.status}</span> ${t.events} events · pid ${t.pid}</div></div>`)}`)}
      ${traces.length === 0 && html`<div class="empty">no traces</div>`}
    </aside>
    ${error ? html`<main><div class="empty">${error}</div></main>` : !trace ? html`<main><div class="empty">loading…</div></main>` : html`<main>
      <div class="flamebox">
        ${trace.damage && html`<div class="banner">reader stopped: ${trace.damage}</div>`}
        ${boot.mode === 'report' && boot.data.truncated && html`<div class="banner">${boot.data.truncated}</div>`}
        ${trace.threads.length > 1 && html`<div class="tabs">${trace.threads.map((t) => html`<button class=${t.id === thread ? 'on' : ''} onClick=${() => setThread(t.id)}>${t.name}</button>`)}</div>`}
        <${Flame} trace=${trace} thread=${thread} sel=${sel} onSelect=${setSel} liveTick=${liveTick} run=${run} />
      </div>
      <div class="lower">
        <div class="panel">
          <${RunSelect} trace=${trace} run=${run} setRun=${setRun} />
          <div class="tabs">
            ${[['tree', 'call tree'], ['slow', 'slowest'], ['search', 'search'], ['history', 'value history']].map(([k, n]) => html`<button class=${tab === k ? 'on' : ''} data-tab=${k} onClick=${() => setTab(k)}>${n}</button>`)}
          </div>
          ${tab === 'tree' && html`<${CallTree} trace=${trace} thread=${thread} sel=${sel} onSelect=${setSel} liveTick=${liveTick} run=${run} />`}
          ${tab === 'slow' && html`<${List} rows=${slow} sel=${sel} onSelect=${setSel} empty="no finished calls" />`}
          ${tab === 'search' && html`<${List} rows=${results} sel=${sel} onSelect=${setSel} empty="no matching calls (type a name or glob above, then Enter)" />`}
          ${tab === 'history' && (hist ? html`<${History} trace=${trace} fn=${hist.fn} path=${hist.path} onSelect=${setSel} run=${run} />` : html`<div class="empty">Choose "history" next to an argument or return value of a call.</div>`)}
        </div>
        <div class="details" id="details"><${Details} trace=${trace} sel=${sel} onSelect=${setSel} onHistory=${onHistory} /></div>
      </div>
    </main>`}`;
}

render(html`<${App} />`, document.getElementById('app'));
