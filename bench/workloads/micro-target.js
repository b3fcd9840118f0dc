// Functions whose probe cost the micro benchmark measures.
function noop() {}
function add(a, b) {
  return a + b;
}
function take5(o) {
  return o.a;
}
function one(x) {
  return x;
}
class Counter {
  constructor() {
    this.n = 0;
  }
  step(x) {
    return x;
  }
}
module.exports = { noop, add, take5, one, Counter };
