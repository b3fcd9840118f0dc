// Code under test that returns, awaits and yields values, keeps a class
// field, recurses, and is shipped elsewhere as source text. The runner runs
// it in a realm of its own (a vm context) in some of its modes.
export function twice(x: number): number {
  return x * 2;
}

export async function later(x: number): Promise<number> {
  const y = await Promise.resolve(x);
  return y + 1;
}

export function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

export function depth(n: number): number {
  return n === 0 ? 0 : 1 + depth(n - 1);
}

export class Counter {
  n = 0;

  inc(): number {
    return ++this.n;
  }
}
