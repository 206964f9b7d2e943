import { compareProofReadings } from '../../shared/readerProof.js';
import type { Namespace, NamespaceResult } from '../../shared/snapshot.js';
import type { ReaderOptions } from './options.js';
import type { Reader } from './reader.js';
import type { SetnsReader } from './setns.js';

/** Namespaces tried in turn when nsenter cannot read one or it keeps changing. */
const PROOF_NAMESPACES = 3;
/** The self-test's verdict when nsenter itself may not enter a namespace: the operator's fix, first. */
const PERMISSION_PROBLEM = 'cannot enter network namespaces: operation not permitted — run as root or with CAP_SYS_ADMIN';
/** Readings of one namespace: a disagreement must repeat to count, a namespace in motion is read again. */
const PROOF_ATTEMPTS = 3;

/**
 * `reader: auto`'s self-test: the reader to use on this host, proven on the namespaces handed over
 * (the caller's own discovery, best first). It reads a namespace with nsenter, with a setns worker
 * (nobody else), and with nsenter again: koffi must load, the worker must enter the namespace and
 * come back home (the pool checks both inodes), and its reading must agree with the two nsenter
 * readings around it (shared/readerProof.ts says what agreeing means when counters move). Then the
 * setns reader, started, is the answer; anything else, and the reason is logged once and the answer
 * is `nsenter`. Null when `signal` aborted the test (a shutdown at start): no verdict, no worker left.
 */
export async function provenReader(candidates: readonly Namespace[], nsenter: Reader, options: ReaderOptions, signal: AbortSignal): Promise<Reader | null> {
  const { logger } = options;
  let setns: SetnsReader | null = null;
  const stopOnAbort = () => void setns?.stop();
  signal.addEventListener('abort', stopOnAbort, { once: true });
  let problem: string | null;
  try {
    // Loaded only now: koffi and the worker code cost nothing to a host that never proves them.
    const { SetnsReader } = await import('./setns.js');
    setns = new SetnsReader(options);
    // The workers start (tens of ms: a thread, its modules, koffi) while nsenter takes its first reading.
    void setns.start();
    problem = await proofProblem(setns, nsenter, candidates, signal);
  } catch (error) {
    problem = `self-test failed: ${(error as Error).message}`;
  } finally {
    signal.removeEventListener('abort', stopOnAbort);
  }
  if (problem === null && setns !== null && !signal.aborted) {
    logger.info({ reader: 'setns', namespace: candidates[0]?.name }, 'reader auto: setns proven on this host (a worker read a namespace as nsenter did); reading with setns');
    return setns;
  }
  await setns?.stop();
  // Stopped mid-test (a shutdown at start): no verdict to give.
  if (signal.aborted) return null;
  // Without the privilege the self-test's details would bury the fix: lead with it.
  const message = problem === PERMISSION_PROBLEM
    ? `${PERMISSION_PROBLEM} (reader auto: no self-test possible; reading with nsenter)`
    : 'reader auto: the setns reader failed its self-test; reading with nsenter';
  logger.warn({ reader: 'nsenter', reason: problem }, message);
  return nsenter;
}

/** Why the setns reader cannot be trusted here, or null when it read a namespace as nsenter did. */
async function proofProblem(setns: SetnsReader, nsenter: Reader, candidates: readonly Namespace[], signal: AbortSignal): Promise<string | null> {
  // One namespace each time, nothing else: the proof must not close what the setns reader holds.
  const readOne = async (reader: Reader, ns: Namespace): Promise<NamespaceResult | { doubt: string }> => {
    const { results, unvouched } = await reader.collect([ns], { complete: false });
    return results[0] ?? { doubt: unvouched[0]?.why ?? 'no reading' };
  };
  let last = 'no namespace to prove it on';
  for (const ns of candidates.slice(0, PROOF_NAMESPACES)) {
    let differed = false;
    for (let attempt = 0; attempt < PROOF_ATTEMPTS && !signal.aborted; attempt += 1) {
      const before = await readOne(nsenter, ns);
      if ('doubt' in before) return before.doubt;
      // Not allowed to enter one namespace is not allowed to enter any: no other candidate will do.
      if (!before.ok && before.reason === 'permission') return PERMISSION_PROBLEM;
      if (!before.ok) {
        last = `nsenter could not read ${JSON.stringify(ns.name)} to compare: ${before.message}`;
        break;
      }
      const candidate = await readOne(setns, ns);
      if ('doubt' in candidate) return candidate.doubt;
      const after = await readOne(nsenter, ns);
      if ('doubt' in after) return after.doubt;
      if (!after.ok) {
        last = `nsenter could not read ${JSON.stringify(ns.name)} to compare: ${after.message}`;
        break;
      }
      if (!candidate.ok) return `a setns worker could not read ${JSON.stringify(ns.name)} (${candidate.reason}): ${candidate.message}`;
      const verdict = compareProofReadings(before.sample, candidate.sample, after.sample);
      if (verdict.verdict === 'agree') return null;
      last = `its reading of ${JSON.stringify(ns.name)} differs from nsenter's: ${verdict.reason}`;
      // Once may be a level that moved back and forth between the readings; twice is the reader.
      if (verdict.verdict === 'differ' && differed) return last;
      differed ||= verdict.verdict === 'differ';
    }
  }
  return last;
}
