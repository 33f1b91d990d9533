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

/** An option parser for a switch given as on|off (also true|false, yes|no); anything else is a usage error. */
export function onOff(v: string): boolean {
  const s = v.trim().toLowerCase();
  if (['on', 'true', 'yes'].includes(s)) return true;
  if (['off', 'false', 'no'].includes(s)) return false;
  throw new InvalidArgumentError('expected on or off');
}
