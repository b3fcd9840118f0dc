// Async functions: each await suspends the activation and each resumption is recorded.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function fetchUser(id) {
  await sleep(5);
  return { id, name: `user-${id}` };
}

async function greet(id) {
  const user = await fetchUser(id);
  return `hello, ${user.name}`;
}

async function main() {
  const lines = await Promise.all([greet(1), greet(2)]);
  console.log(lines.join('\n'));
}

main();
