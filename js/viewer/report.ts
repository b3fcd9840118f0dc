// `noderec report`: one self-contained HTML file (the viewer with the
// trace's answers embedded; no network, no server) for a trace small enough
// to embed.
import * as path from 'node:path';

import { answer, Catalog } from './api';
import { pageHtml } from './page';
import { Activation, openIndex } from '../query';

/** The most activations a report embeds (with their values and output). */
export const REPORT_MAX_ACTIVATIONS = 20_000;

export class ReportError extends Error {
  readonly code = 'ERR_REPORT_TOO_LARGE';
}

/** The report page for the trace directory `dir`. */
export function reportHtml(dir: string): string {
  const cat = new Catalog(path.dirname(dir), [dir]);
  const id = path.basename(dir);
  const p = (o: Record<string, string | number>): URLSearchParams => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(o)) q.set(k, String(v));
    q.set('id', id);
    return q;
  };
  const ix = openIndex(dir);
  const info = ix.info();
  const total = info.threads.reduce((n, t) => n + t.activations, 0);
  if (total > REPORT_MAX_ACTIVATIONS) {
    throw new ReportError(
      `${dir} has ${total} activations; a report embeds at most ${REPORT_MAX_ACTIVATIONS} (use 'noderec view' for larger traces)`,
    );
  }
  const trace = answer(cat, 'trace', p({})) as Record<string, unknown>;
  const acts: Activation[] = [];
  for (const t of info.threads) {
    let cursor: string | undefined;
    do {
      const page = ix.timeline({ thread: t.id, limit: 5000, cursor, values: true });
      acts.push(...page.rows);
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  const details: Record<string, unknown> = {};
  const sources = new Map<number, unknown>();
  for (const a of acts) {
    const c = answer(cat, 'call', p({ thread: a.thread, act: a.activation })) as {
      params: string[];
      col: number;
      output: unknown[];
      source: unknown;
    };
    if (!sources.has(a.fnId)) sources.set(a.fnId, c.source);
    details[`${a.thread}:${a.activation}`] = { params: c.params, col: c.col, output: c.output, source: sources.get(a.fnId) };
  }
  const traces = (answer(cat, 'traces', new URLSearchParams()) as { id: string }[]).filter((t) => t.id === id);
  const data = { trace, traces, acts, details, slowest: ix.slowest(100), spans: ix.spans(undefined, undefined, undefined, undefined, 10_000), truncated: null };
  return pageHtml({ mode: 'report', initial: id, data });
}
