/** Reading a Prometheus text exposition in tests. */

/** The value of one series (name and labels exactly as exposed), or undefined when it is absent. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
