import { InvalidArgumentError } from 'commander';

/** An option parser for a whole number in [min, max]; anything else is a usage error (exit 2). */
export function int(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}
