// Canvas flame/timeline chart: one row per stack depth, drawn from the
// rectangles the index returns for the visible range at the canvas width
// (activations narrower than a pixel arrive merged into clusters).

const ROW = 18;

function color(name) {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
  const hue = Math.abs(h) % 360;
  return `hsl(${hue},55%,72%)`;
}

/** Draws `rects` for `view` ({from,to} ns); records the names drawn in `canvas.dataset.names`. */
export function drawFlame(canvas, rects, view, names, selAct) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  canvas.width = Math.floor(w * dpr);
  canvas.height = Math.floor(h * dpr);
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  g.font = '11px system-ui, sans-serif';
  g.textBaseline = 'middle';
  const span = Math.max(1, view.to - view.from);
  const drawn = new Set();
  let maxDepth = 0;
  for (const r of rects) maxDepth = Math.max(maxDepth, r.depth);
  const top = Math.max(0, (maxDepth + 1) * ROW - h); // keep the deepest rows visible when tall
  for (const r of rects) {
    const x0 = Math.max(0, ((r.startNs - view.from) / span) * w);
    const x1 = Math.min(w, ((r.endNs - view.from) / span) * w);
    const y = r.depth * ROW - top;
    if (y + ROW < 0 || y > h) continue;
    const width = Math.max(1, x1 - x0);
    const name = names[String(r.fnId)] || `fn ${r.fnId}`;
    g.fillStyle = r.count > 1 ? '#c7ccd6' : r.threw ? '#f3a6a6' : color(name);
    g.fillRect(x0, y, width, ROW - 1);
    if (r.activation === selAct && r.count === 1) {
      g.strokeStyle = '#1d2330';
      g.lineWidth = 2;
      g.strokeRect(x0 + 1, y + 1, Math.max(1, width - 2), ROW - 3);
    }
    if (width > 30) {
      const label = r.count > 1 ? `${name} +${r.count - 1}` : name;
      g.fillStyle = '#111827';
      g.save();
      g.beginPath();
      g.rect(x0, y, width, ROW);
      g.clip();
      g.fillText(label, x0 + 3, y + ROW / 2);
      g.restore();
      drawn.add(name);
    }
  }
  canvas.dataset.names = JSON.stringify([...drawn].sort());
  // What was drawn, for keyboard focus and the browser tests.
  canvas.__nr = { rects, view, top };
  canvas.dataset.rects = String(rects.length);
  canvas.dataset.top = String(top);
}

/** The rectangle under (x, y) in CSS pixels, preferring single activations. */
export function hitTest(rects, view, width, x, y) {
  const canvasTop = Number((document.querySelector('canvas.flame') || { dataset: {} }).dataset.top || 0);
  const depth = Math.floor((y + canvasTop) / ROW);
  const t = view.from + (x / width) * (view.to - view.from);
  const px = (view.to - view.from) / width;
  let best = null;
  for (const r of rects) {
    if (r.depth !== depth) continue;
    if (t >= r.startNs - px && t <= Math.max(r.endNs, r.startNs + px)) {
      if (!best || (best.count > 1 && r.count === 1)) best = r;
    }
  }
  return best;
}

/** Where activation `act` is drawn (for tests and keyboard focus): CSS pixel center, or null. */
export function rectCenter(rects, view, width, act) {
  const r = rects.find((x) => x.activation === act && x.count === 1);
  if (!r) return null;
  const x0 = Math.max(0, ((r.startNs - view.from) / (view.to - view.from)) * width);
  const x1 = Math.min(width, ((r.endNs - view.from) / (view.to - view.from)) * width);
  return { x: (x0 + x1) / 2, y: r.depth * ROW + ROW / 2 };
}
