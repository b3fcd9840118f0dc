// An exception through three frames, caught, then one that ends the program.
function parse(text) {
  if (!text.startsWith('{')) throw new SyntaxError(`not an object: ${text}`);
  return JSON.parse(text);
}

function load(text) {
  return parse(text);
}

function loadAll(texts) {
  return texts.map(load);
}

try {
  loadAll(['{"a":1}', 'oops']);
} catch (e) {
  console.error('caught:', e.message);
}

loadAll(['nope']);
