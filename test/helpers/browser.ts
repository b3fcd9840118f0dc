// Headless Chromium for the viewer tests: Debian's /usr/bin/chromium (or
// $NODEREC_CHROMIUM) driven by playwright-core. No browser is downloaded;
// without one the browser tests are skipped, saying why.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, ChildProcess } from 'node:child_process';

import { chromium, Browser } from 'playwright-core';

import { CLI, NODE, ROOT, cleanEnv } from './run';

export const CHROMIUM = process.env.NODEREC_CHROMIUM ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = fs.existsSync(CHROMIUM);
export const NO_CHROMIUM_REASON = `no Chromium at ${CHROMIUM} (install Debian's chromium package or set NODEREC_CHROMIUM)`;

/** Where screenshots go (ignored by git): test/.artifacts/viewer/. */
export const ARTIFACTS = path.join(ROOT, 'test', '.artifacts', 'viewer');

export function launch(): Promise<Browser> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

export interface CliServer {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts `noderec <args>` and waits for the viewer URL it prints (stdout or stderr). */
export function startCli(args: string[], env: Record<string, string>, cwd = ROOT): Promise<CliServer> {
  const child = spawn(NODE, [CLI, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no viewer URL after 20 s:\n${text}`)), 20_000);
    const on = (d: Buffer): void => {
      text += d.toString();
      const m = /noderec viewer: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], output: () => text });
      }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('exit', (c) => reject(new Error(`noderec exited (${c}) before printing a URL:\n${text}`)));
  });
}

/** Stops a CLI server with SIGINT (as Ctrl-C would) and waits for its exit code. */
export function stopCli(s: CliServer): Promise<number | null> {
  return new Promise((resolve) => {
    if (s.child.exitCode !== null) return resolve(s.child.exitCode);
    s.child.once('exit', (c) => resolve(c));
    s.child.kill('SIGINT');
  });
}
