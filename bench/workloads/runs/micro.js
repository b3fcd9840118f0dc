// Measured by bench/runs.js: ns per operation, timed inside the process.
// MODE: none (never calls run), hooked (one run() before, none active while
// timing), inside (timing inside a run). Prints one JSON line.
// nsPerAwait is an `await null` in a loop (events + async hooks).
// nsPerRunHandler(Clear): a run calling 8 functions, with clear 'none' /
// 'current'; nsPerSwitchingAwait(Clearing): an await of two runs resuming in
// turn (a run switch each), neither / one of them clearing.
const noderec = require(process.env.NODEREC_API);
const N = Number(process.env.N || 2e6);
const M = Number(process.env.M || 1e5);

function noop() {}

function handler() {
  for (let i = 0; i < 8; i++) noop();
}

function loop(n) {
  for (let i = 0; i < n; i++) noop();
}

async function awaits(n) {
  for (let i = 0; i < n; i++) await null;
}

function time(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
}

async function main() {
  const mode = process.env.MODE;
  const out = { mode };
  if (mode === 'hooked') noderec.run({}, () => 0);
  loop(1e5); // warm-up
  const body = () => {
    out.nsPerCallReturn = time(() => loop(N)) / N;
  };
  if (mode === 'inside') noderec.run({}, body);
  else body();
  // Awaits: each resumes through a promise job (async hooks fire there).
  const A = 2e5;
  const asyncBody = async () => {
    await awaits(1e4);
    const t0 = process.hrtime.bigint();
    await awaits(A);
    out.nsPerAwait = Number(process.hrtime.bigint() - t0) / A;
  };
  if (mode === 'inside') await noderec.run({}, asyncBody);
  else await asyncBody();
  if (mode === 'none') {
    const f = () => 0;
    time(() => {
      for (let i = 0; i < 1e4; i++) noderec.run({ runId: 'w' }, f);
    });
    out.nsPerRun = time(() => {
      for (let i = 0; i < M; i++) noderec.run({ runId: 'r' }, f);
    }) / M;
    out.nsPerRunClearCurrent = time(() => {
      for (let i = 0; i < M; i++) noderec.run({ runId: 'r', clear: 'current' }, f);
    }) / M;
    out.nsPerRunClearAll = time(() => {
      for (let i = 0; i < M; i++) noderec.run({ runId: 'r', clear: 'all' }, f);
    }) / M;
    // A run whose function calls 8 instrumented functions (18 events):
    // written, or held and dropped at its end (clear 'current': one flush
    // of the probe buffer per run, the writer's queue).
    out.nsPerRunHandler = time(() => {
      for (let i = 0; i < M; i++) noderec.run({ runId: 'r' }, handler);
    }) / M;
    out.nsPerRunHandlerClear = time(() => {
      for (let i = 0; i < M; i++) noderec.run({ runId: 'r', clear: 'current' }, handler);
    }) / M;
    out.nsPerRunDefaultId = time(() => {
      for (let i = 0; i < M; i++) noderec.run({}, f);
    }) / M;
    out.nsPerSpan = time(() => {
      for (let i = 0; i < M; i++) noderec.span('s', { i }, f);
    }) / M;
    out.nsPerStartSpanEnd = time(() => {
      for (let i = 0; i < M; i++) noderec.startSpan('s').end();
    }) / M;
    out.nsPerLog = time(() => {
      for (let i = 0; i < M; i++) noderec.log('e', { i });
    }) / M;
    out.nsPerCallDirect = time(() => {
      for (let i = 0; i < M; i++) f();
    }) / M;
  }
  if (mode === 'none') {
    // Two runs awaiting in turn: every resume switches the thread's run.
    // With one of them clearing, each switch also hands the probe buffer
    // over (the per-switch flush of clearing runs).
    const K = 5e4;
    const interleaved = async (clear) => {
      const t0 = process.hrtime.bigint();
      await Promise.all([noderec.run({ runId: 'a', clear }, () => awaits(K)), noderec.run({ runId: 'b' }, () => awaits(K))]);
      return Number(process.hrtime.bigint() - t0) / (2 * K);
    };
    await interleaved(undefined);
    out.nsPerSwitchingAwait = await interleaved(undefined);
    out.nsPerSwitchingAwaitClearing = await interleaved('current');
  }
  console.log(JSON.stringify(out));
}

main();
