// Nothing unused (`npm run lint` runs both modes; CI fails on any finding):
// - `knip`: every file, tests and benchmarks included, is reached from an entry, and every export
//   has an importer somewhere;
// - `knip --production`: from the agent's own entry points, with tests not among them, every export
//   is used by production code (in its own module or another): nothing exists only for tests.
// No file under agent/ or shared/ is ignored.
const production = process.argv.includes('--production') || process.argv.includes('-p');

/**
 * The command's entry points beside package.json's bin (which knip reads): main.ts, run as a file by
 * the image; the setns worker, started from a URL knip cannot follow.
 */
const AGENT_ENTRIES = ['agent/main.ts!', 'agent/readers/setnsWorker.ts!'];

/** Programs the tests and benchmarks run: Debian packages (.ci/run installs those CI needs), not npm ones. */
const SYSTEM_PROGRAMS = ['ip', 'mount', 'umount', 'mkfifo', 'script', 'logrotate', 'systemd-analyze', 'setpriv', 'openssl', 'promtool', 'gcc', 'haproxy', 'unshare', 'nsenter', 'taskset'];

export default {
  entry: [
    ...AGENT_ENTRIES,
    'test/**/*.test.ts',
    'test/fixtures/netlink/record.mjs',
    'scripts/*.mjs',
    'bench/run.ts',
    // The benchmarks bench/run.ts loads from a URL, when they exist.
    'bench/{readers,churn,collectors,pushgateway,remoteWrite,pushCost,memory}.ts',
    // Loaded with `node --import` in front of the agent by bench/memory.ts.
    'bench/heapPreload.ts',
  ],
  project: ['agent/**/*.ts!', 'shared/**/*.ts!', 'test/**/*.{ts,mjs}', 'bench/**/*.ts', 'scripts/*.mjs'],
  ignoreBinaries: SYSTEM_PROGRAMS,
  ignoreExportsUsedInFile: production,
};
