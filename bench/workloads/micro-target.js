// Functions whose probe cost the micro benchmark measures.
function noop() {}
function add(a, b) {
  return a + b;
}
function take5(o) {
  return o.a;
}
module.exports = { noop, add, take5 };
