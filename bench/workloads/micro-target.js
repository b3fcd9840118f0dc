// Functions whose probe cost the micro benchmark measures.
function noop() {}
function add(a, b) {
  return a + b;
}
module.exports = { noop, add };
