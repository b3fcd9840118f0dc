// A vite plugin that instruments modules for noderec after every other
// transform (enforce: 'post'), with vite's combined source map, so positions
// are those of the original file. vitest 2 to 4 are integrated without it
// (js/runners/integrate.ts); it is for projects that want the integration in
// their config (and for runners noderec does not recognize):
//
//   import noderec from 'noderec/vite-plugin';
//   export default { plugins: [noderec()] };
//
// vite transforms in its main process and the code may run in another (a
// vitest worker), so the module carries its function table and registers it
// in the process that runs it (`__nr$.reg`, instrument/mod.rs
// `prologue_registering`). Outside a recording the plugin changes nothing.
import * as path from 'node:path';

import { buildSalt, native } from '../native';
import { PORTABLE_MARK } from './integrate';

interface PluginContext {
  getCombinedSourcemap?(): unknown;
}

interface Plugin {
  name: string;
  enforce: 'post';
  transform(this: PluginContext, code: string, id: string): { code: string; map: null } | null;
}

const INLINE_MAP = '\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,';

function recording(): boolean {
  try {
    return native().currentDir() !== null;
  } catch {
    return false;
  }
}

function noderec(): Plugin {
  return {
    name: 'noderec',
    enforce: 'post',
    transform(code, id) {
      if (!recording() || id.startsWith('\0')) return null;
      const file = id.split('?')[0];
      if (!path.isAbsolute(file) || !/\.(c|m)?[jt]sx?$/.test(file) || code.includes(PORTABLE_MARK)) return null;
      let source = code;
      try {
        const map = this.getCombinedSourcemap?.();
        if (map !== null && map !== undefined) source += INLINE_MAP + Buffer.from(JSON.stringify(map)).toString('base64');
      } catch {
        // no map: positions are those of the transformed code
      }
      let out: string | null;
      try {
        out = native().instrumentPortable(source, file, true, buildSalt());
      } catch {
        // code noderec cannot parse goes on as vite made it
        return null;
      }
      if (out === null) return null;
      // The map appended above is vite's to keep: lines are unchanged, so
      // `map: null` keeps its chain.
      const at = out.lastIndexOf(INLINE_MAP);
      if (at >= 0 && source !== code) out = out.slice(0, at) + out.slice(out.indexOf('\n', at + 1) < 0 ? out.length : out.indexOf('\n', at + 1));
      return { code: out, map: null };
    },
  };
}

export = noderec;
