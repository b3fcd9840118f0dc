// Calls a tiny function N times and prints nanoseconds per call (JSON).
// noop(); add(i, 7); take5 with a fresh 5-property object per call (obj),
// the same object changed before every call (objmut), the same object
// unchanged (objsame); one(i) (one int argument, no receiver), the method
// c.step(i) on one receiver (method) and on 64 receivers in turn
// (methods: a receiver is recorded as its class name, `this` at depth 0).
const { noop, add, take5, one, Counter } = require('./micro-target.js');
const which = process.argv[2];
const n = Number(process.argv[3] || 2e7);
function loopNoop(k) {
  for (let i = 0; i < k; i++) noop();
}
function loopAdd(k) {
  let s = 0;
  for (let i = 0; i < k; i++) s = add(i & 1023, 7) & 0xffff;
  return s;
}
function loopObj(k) {
  let s = 0;
  for (let i = 0; i < k; i++) s = (s + take5({ a: i & 1023, b: 'name', c: true, d: null, e: 2.5 })) & 0xffff;
  return s;
}
const shared = { a: 1, b: 'name', c: true, d: null, e: 2.5 };
function loopObjMut(k) {
  let s = 0;
  for (let i = 0; i < k; i++) {
    shared.a = i & 1023;
    s = (s + take5(shared)) & 0xffff;
  }
  return s;
}
function loopObjSame(k) {
  let s = 0;
  for (let i = 0; i < k; i++) s = (s + take5(shared)) & 0xffff;
  return s;
}
function loopOne(k) {
  let s = 0;
  for (let i = 0; i < k; i++) s = (s + one(i & 1023)) & 0xffff;
  return s;
}
const counter = new Counter();
function loopMethod(k) {
  let s = 0;
  for (let i = 0; i < k; i++) s = (s + counter.step(i & 1023)) & 0xffff;
  return s;
}
const counters = Array.from({ length: 64 }, () => new Counter());
function loopMethods(k) {
  let s = 0;
  for (let i = 0; i < k; i++) s = (s + counters[i & 63].step(i & 1023)) & 0xffff;
  return s;
}
const loop =
  { add: loopAdd, obj: loopObj, objmut: loopObjMut, objsame: loopObjSame, one: loopOne, method: loopMethod, methods: loopMethods }[
    which
  ] || loopNoop;
// CPU time of the main thread alone (Linux: /proc schedstat, ns on CPU),
// without the recorder's writer and clock threads; null elsewhere.
function mainThreadNs() {
  try {
    return Number(require('node:fs').readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}
// CPU time of the recorder's writer thread (Linux: the task named
// noderec-writer; null elsewhere or when not recorded): on a busy machine
// the wall time is about the main thread's plus the writer's.
function writerThreadNs() {
  const fs = require('node:fs');
  try {
    for (const t of fs.readdirSync('/proc/self/task')) {
      if (fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() === 'noderec-writer') {
        return Number(fs.readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      }
    }
  } catch {
    // not Linux
  }
  return null;
}
loop(1e5); // warm up
const w0 = writerThreadNs();
const m0 = mainThreadNs();
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
loop(n);
const ns = Number(process.hrtime.bigint() - t0) / n;
const c = process.cpuUsage(c0);
// CPU of the whole process (the recorder's writer and clock threads too):
// steadier than wall time on a loaded machine.
const cpuNs = ((c.user + c.system) * 1000) / n;
const m1 = mainThreadNs();
const mainNs = m0 === null || m1 === null ? null : (m1 - m0) / n;
const w1 = writerThreadNs();
const writerNs = w0 === null || w1 === null ? null : (w1 - w0) / n;
process.stdout.write(JSON.stringify({ ns, cpuNs, mainNs, writerNs }) + '\n');
