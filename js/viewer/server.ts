// `noderec view`: a local HTTP server on 127.0.0.1 (free port) with a
// random token; every request without it gets 403. Live updates go over a
// WebSocket (`ws`) with a Server-Sent Events fallback.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

import { WebSocketServer, WebSocket } from 'ws';

import { answer, Catalog, ViewerError } from './api';
import { pageHtml } from './page';
import { openIndex } from '../query';

export interface ViewServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

export interface ViewOptions {
  outDir: string;
  /** A trace to open first (its id), and to allow even outside outDir. */
  trace?: string;
  extraDirs?: string[];
  /** How often live traces are polled for new chunks (ms). */
  pollMs?: number;
}

function tokenOk(req: http.IncomingMessage, url: URL, token: string): boolean {
  const given = url.searchParams.get('token') ?? req.headers['x-noderec-token'];
  if (typeof given !== 'string' || given.length !== token.length) return false;
  return crypto.timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

/** Starts the viewer; resolves once it listens. */
export function startViewer(o: ViewOptions): Promise<ViewServer> {
  const token = crypto.randomBytes(18).toString('base64url');
  const cat = new Catalog(o.outDir, o.extraDirs ?? []);
  const sse = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    if (!tokenOk(req, url, token)) {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('403: this viewer needs the token printed by `noderec view`\n');
      return;
    }
    try {
      if (url.pathname === '/' || url.pathname === '/index.html') {
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws://127.0.0.1:*; img-src data:",
        });
        res.end(pageHtml({ mode: 'server', token, initial: o.trace ?? null }));
        return;
      }
      if (url.pathname === '/api/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive' });
        res.write(': live\n\n');
        sse.add(res);
        req.on('close', () => sse.delete(res));
        return;
      }
      const m = /^\/api\/([a-z]+)$/.exec(url.pathname);
      if (m === null) throw new ViewerError(404, 'ERR_USAGE', `nothing at ${url.pathname}`);
      const body = JSON.stringify(answer(cat, m[1], url.searchParams));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    } catch (e) {
      const err = e as { status?: number; code?: string; message?: string };
      res.writeHead(err.status ?? 500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: err.code ?? 'ERR_INTERNAL', message: err.message ?? String(e) } }));
    }
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/live' || !tokenOk(req, url, token)) {
      socket.write('HTTP/1.1 403 Forbidden\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  // Live: poll the traces still recording; tell clients what grew.
  const watched = new Map<string, { events: number; status: string }>();
  const broadcast = (msg: unknown): void => {
    const text = JSON.stringify(msg);
    for (const c of wss.clients) if (c.readyState === WebSocket.OPEN) c.send(text);
    for (const r of sse) r.write(`data: ${text}\n\n`);
  };
  let baseline = true;
  const poll = (): void => {
    try {
      for (const t of cat.list()) {
        const prev = watched.get(t.id);
        if (prev !== undefined && prev.status !== 'recording' && t.status !== 'recording') continue;
        let events = t.events;
        let status: string = t.status;
        if (t.status === 'recording' || prev?.status === 'recording') {
          const ix = openIndex(t.dir, t.status === 'recording');
          events = ix.info().events;
          if (ix.live) status = 'recording';
        }
        if (prev === undefined || prev.events !== events || prev.status !== status) {
          watched.set(t.id, { events, status });
          if (!baseline) broadcast({ type: 'update', id: t.id, events, status });
        }
      }
    } catch {
      // A trace that vanished or is mid-write: try again next tick.
    }
    baseline = false;
  };
  poll();
  const timer = setInterval(poll, o.pollMs ?? 250);
  timer.unref();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      const q = o.trace !== undefined ? `&trace=${encodeURIComponent(o.trace)}` : '';
      resolve({
        url: `http://127.0.0.1:${port}/?token=${token}${q}`,
        port,
        token,
        close: () =>
          new Promise<void>((done) => {
            clearInterval(timer);
            for (const r of sse) r.end();
            for (const c of wss.clients) c.terminate();
            wss.close();
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** Opens `url` in the desktop's browser ($BROWSER, else xdg-open/open/start). */
export function openBrowser(url: string): void {
  const cmd = process.env.BROWSER || (process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'start' : 'xdg-open');
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => process.stderr.write(`noderec: could not start ${cmd}; open ${url} yourself\n`));
    child.unref();
  } catch {
    process.stderr.write(`noderec: could not start ${cmd}; open ${url} yourself\n`);
  }
}

/** The viewer bundle (built by `npm run build:viewer` into js/dist/viewer/ui.js). */
export function uiBundle(): string {
  return fs.readFileSync(path.join(__dirname, 'ui.js'), 'utf8');
}
