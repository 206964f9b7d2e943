/**
 * Resolves true when `work` settles (either way) before `deadlineMs` (ms since the epoch), false
 * when the deadline comes first. Shutdown waits on parts this way: a part that does not finish (a
 * thread stuck in the kernel, a server that never answers) must not hold the agent up, and the
 * timer is cleared so it does not hold the process either.
 */
export async function settledBy(work: Promise<unknown>, deadlineMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadlineMs - Date.now()));
  });
  const settled = await Promise.race([work.then(() => true, () => true), late]);
  clearTimeout(timer);
  return settled;
}
