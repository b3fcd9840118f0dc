// Code under test: TypeScript, so positions must come through babel's map.
export interface Line {
  sku: string;
  qty: number;
  price: number;
}

export function lineTotal(line: Line): number {
  const base: number = line.qty * line.price;
  return Math.round(base * 100) / 100;
}

export function cartTotal(lines: Line[]): number {
  let sum = 0;
  for (const l of lines) sum += lineTotal(l);
  return sum;
}

export class Discount {
  constructor(private readonly percent: number) {}

  apply(total: number): number {
    return total - (total * this.percent) / 100;
  }
}
