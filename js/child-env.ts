// Under `noderec record`, every node process the command starts is recorded:
// the preload travels in NODE_OPTIONS. A program that replaces NODE_OPTIONS
// for its child (`cross-env NODE_OPTIONS=--experimental-vm-modules jest`)
// drops it. A recorded process of the run puts it back for such a child:
// Node publishes each new ChildProcess on the `child_process` diagnostics
// channel from its constructor, before `child.spawn(options)` runs with the
// child's environment in `options.envPairs` (lib/child_process.js spawn(),
// which fork, exec and execFile use too; checked on Node 20 and 22). The subscriber
// puts a `spawn` of its own on that one instance, which removes itself at its
// first call, before anything of the program runs again.
//
// Only a child whose environment carries this run's NODEREC_RUN_ID is
// touched (the program left it in the run). spawnSync/execSync/execFileSync
// make no ChildProcess and publish nothing: their children keep the
// environment the program gave them (README, Known differences).
import * as dc from 'node:diagnostics_channel';
import * as path from 'node:path';

/** A path as one NODE_OPTIONS word (node's own quoting rules). */
export function quoteForNodeOptions(p: string): string {
  return /[\s"\\]/.test(p) ? `"${p.replace(/(["\\])/g, '\\$1')}"` : p;
}

const REGISTER = path.join(__dirname, 'register.js');

/** `envPairs` with the preload in NODE_OPTIONS, or null when the child is
 * not this run's or already has it. */
export function withPreload(envPairs: string[], runId: string, register = REGISTER): string[] | null {
  if (!envPairs.includes(`NODEREC_RUN_ID=${runId}`)) return null;
  const preload = `--require ${quoteForNodeOptions(register)}`;
  const at = envPairs.findIndex((p) => p.startsWith('NODE_OPTIONS='));
  if (at < 0) return [...envPairs, `NODE_OPTIONS=${preload}`];
  const value = envPairs[at].slice('NODE_OPTIONS='.length);
  if (value.includes(register) || value.includes(quoteForNodeOptions(register)) || /(^|[\s"'/])noderec\/register\b/.test(value)) return null;
  const out = envPairs.slice();
  out[at] = `NODE_OPTIONS=${[value, preload].join(' ').trim()}`;
  return out;
}

interface SpawnOptions {
  envPairs?: unknown;
}

let installed = false;

/** Subscribes once per process, only under `noderec record` (its
 * NODEREC_RUN_ID and NODEREC_RUN_ERRORS hand-offs are set). */
export function keepChildrenInRun(env: NodeJS.ProcessEnv = process.env): void {
  const runId = env.NODEREC_RUN_ID;
  if (installed || !runId || !env.NODEREC_RUN_ERRORS) return;
  installed = true;
  dc.subscribe('child_process', (message) => {
    const child = (message as { process?: object } | null)?.process;
    if (child === null || typeof child !== 'object' || Object.prototype.hasOwnProperty.call(child, 'spawn')) return;
    Object.defineProperty(child, 'spawn', {
      configurable: true,
      enumerable: false,
      writable: true,
      value: function spawn(this: { spawn: (o: SpawnOptions) => unknown }, options: SpawnOptions) {
        delete (this as { spawn?: unknown }).spawn;
        if (options !== null && typeof options === 'object' && Array.isArray(options.envPairs)) {
          const pairs = withPreload(options.envPairs as string[], runId);
          if (pairs !== null) options.envPairs = pairs;
        }
        // eslint-disable-next-line prefer-rest-params
        return Reflect.apply(this.spawn, this, arguments);
      },
    });
  });
}
