// The viewer's API answered from the data embedded in a report
// (`noderec report`): the same routes as the server, no network.

function globRe(g) {
  let s = '';
  for (const c of g) s += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${s}$`);
}

function members(v) {
  if (Array.isArray(v)) return v.map((x, i) => [String(i), x]);
  if (v && typeof v === 'object') {
    if (v.$ === undefined) return Object.entries(v);
    if (v.$ === 'object') return Object.entries(v.props || {});
    if (v.$ === 'array') return (v.items || []).map((x, i) => [String(i), x]);
    if (v.$ === 'set') return (v.values || []).map((x, i) => [String(i), x]);
    if (v.$ === 'map') return (v.entries || []).map(([k, x]) => [typeof k === 'string' ? k : JSON.stringify(k), x]);
  }
  return null;
}

function pick(v, path) {
  for (const seg of path.split('.').filter(Boolean)) {
    const m = members(v);
    const hit = m && m.find(([k]) => k === seg);
    if (!hit) return undefined;
    v = hit[1];
  }
  return v;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const kindOf = (v) => (Array.isArray(v) ? 'array' : v && typeof v === 'object' ? `${v.$ || 'plain'}:${v.class || ''}` : 'leaf');

/** Structural diff, like crates/noderec_core/src/query/diff.rs. */
export function diff(a, b, path = '', out = []) {
  if (same(a, b) || out.length >= 100) return out;
  const ma = members(a);
  const mb = members(b);
  if (ma && mb && kindOf(a) === kindOf(b)) {
    const join = (k) => (path ? `${path}.${k}` : k);
    for (const [k, va] of ma) {
      const hit = mb.find(([kb]) => kb === k);
      if (hit) diff(va, hit[1], join(k), out);
      else out.push({ path: join(k), op: 'removed', before: va });
    }
    for (const [k, vb] of mb) if (!ma.some(([ka]) => ka === k)) out.push({ path: join(k), op: 'added', after: vb });
  } else out.push({ path, op: 'changed', before: a, after: b });
  return out;
}

export function staticApi(data) {
  const acts = data.acts;
  const key = (t, a) => `${t}:${a}`;
  const byKey = new Map(acts.map((a) => [key(a.thread, a.activation), a]));
  const strip = ({ values, ...rest }) => rest;
  // Runs (noderec.run): a run filter keeps the calls made in the run or in a run nested in it.
  const runs = (data.trace && data.trace.runs) || [];
  const parentOf = new Map(runs.map((r) => [r.runId, r.parentRunId]));
  const inRun = (a, want) => {
    if (!want) return true;
    let r = a.run;
    for (let i = 0; r && i <= runs.length; i++, r = parentOf.get(r)) if (r === want) return true;
    return false;
  };
  const outermost = (a, want) => {
    if (a.parent === 0) return true;
    const up = byKey.get(key(a.thread, a.parent));
    return !up || !inRun(up, want);
  };
  const routes = {
    traces: () => data.traces,
    trace: () => data.trace,
    slowest: () => data.slowest,
    spans: (p) => {
      const runOk = (s) => !p.run || (s.run !== undefined && s.run !== null && inRun({ run: s.run }, p.run));
      return (data.spans || []).filter(
        (s) => (p.thread === undefined || s.thread === Number(p.thread)) && s.endNs >= Number(p.from || 0) && s.startNs <= Number(p.to ?? Infinity) && runOk(s),
      );
    },
    flame: (p) =>
      acts
        .filter((a) => a.thread === Number(p.thread) && a.startNs <= Number(p.to) && a.startNs + a.durNs >= Number(p.from))
        .map((a) => ({ activation: a.activation, depth: a.depth, fnId: a.fnId, startNs: a.startNs, endNs: a.startNs + a.durNs, count: 1, threw: a.threw })),
    children: (p) =>
      acts
        .filter(
          (a) =>
            a.thread === Number(p.thread || 0) &&
            a.activation > Number(p.after || 0) &&
            inRun(a, p.run) &&
            (p.run && Number(p.act || 0) === 0 ? outermost(a, p.run) : a.parent === Number(p.act || 0)),
        )
        .slice(0, Number(p.limit || 200))
        .map(strip),
    call: (p) => {
      const a = byKey.get(key(Number(p.thread || 0), Number(p.act)));
      if (!a) throw new Error('no such activation');
      const d = data.details[key(a.thread, a.activation)] || { params: [], col: 0, output: [], source: null };
      return { activation: a, ...d };
    },
    timeline: (p) => {
      const re = p.fn ? globRe(p.fn) : null;
      const rows = acts.filter((a) => (!re || re.test(a.name)) && inRun(a, p.run)).slice(0, Number(p.limit || 100));
      return { rows: p.values === 0 || p.values === '0' ? rows.map(strip) : rows };
    },
    history: (p) => {
      const re = globRe(p.fn || '*');
      const [head, ...rest] = String(p.path || 'args.0').split('.');
      const out = [];
      for (const a of acts.filter((x) => re.test(x.name) && inRun(x, p.run)).sort((x, y) => x.startNs - y.startNs).slice(0, Number(p.limit || 200))) {
        const v = a.values || {};
        const params = (data.details[key(a.thread, a.activation)] || {}).params || [];
        let root;
        if (head === 'return' || head === 'value') root = v.value;
        else if (head === 'error') root = v.error;
        else if (head === 'this') root = v.this;
        else if (head === 'args') root = v.args;
        else root = v.args && params.indexOf(head) >= 0 ? v.args[params.indexOf(head)] : undefined;
        const value = root === undefined ? undefined : pick(root, rest.join('.'));
        const prev = out.length ? out[out.length - 1].value : undefined;
        out.push({ thread: a.thread, activation: a.activation, startNs: a.startNs, value, changes: prev !== undefined && value !== undefined ? diff(prev, value) : [] });
      }
      return out;
    },
  };
  return async (route, params = {}) => {
    const f = routes[route];
    if (!f) throw new Error(`no route ${route}`);
    return f(params);
  };
}
