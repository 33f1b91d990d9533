/** Polls `check` until it holds, or fails naming `what` after `ms`: for work done on real timers (workers, daemons). */
export async function until(
  check: () => Promise<boolean>,
  ms = 15_000,
  what = 'condition',
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
