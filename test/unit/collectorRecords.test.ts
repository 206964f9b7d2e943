import { spawnSync } from 'node:child_process';
import { BASH_WITHOUT_STARTUP_FILES, SHELL_ENVIRONMENT } from '../../agent/readers/shellWorker.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { collectorSample } from '../../shared/collectors/collectorList.js';
import { COLLECTOR_RECORD_MARK, collectorShellFragments, splitCollectorRecords } from '../../shared/parse/collectorRecords.js';
import { configFrom } from '../helpers/config.js';
import { ALL_COLLECTOR_FILES, fixture, fixturePath, procFixture } from '../helpers/fixtures.js';

const test = suite('collector records: the shell framing of whole /proc files');
const ALL_FILES = ALL_COLLECTOR_FILES;

/** The read fragment, `between` (other commands of the reader's script), then the write fragment. */
function runLoop(procRoot: string, files: readonly string[], between = ':'): string {
  const { read, write } = collectorShellFragments(procRoot, files);
  // As the readers start their shells: no start-up files (a host's .bashrc may print or hang), a clean environment.
  const [bash, ...flags] = BASH_WITHOUT_STARTUP_FILES;
  const run = spawnSync(bash, [...flags, '-c', `${read}\n${between}\n${write}`, 'bash', 'unrelated', 'arguments'], { encoding: 'utf8', env: SHELL_ENVIRONMENT, cwd: '/' });
  assert.is(run.status, 0, run.stderr);
  return run.stdout;
}

test('bash reads every fixture file whole; missing files are marked missing', () => {
  const { before, files } = splitCollectorRecords(`{"ip": "json"}\n${runLoop(fixturePath('proc/busy'), ALL_FILES)}`);
  assert.is(before, '{"ip": "json"}\n');
  assert.equal(files, procFixture('busy', ALL_FILES));
  const bare = splitCollectorRecords(runLoop(fixturePath('proc/bare'), ALL_FILES)).files;
  assert.equal(bare, procFixture('bare', ALL_FILES));
  assert.is(bare['net/stat/nf_conntrack'], null);
});

test('a file that exists but cannot be read is an error, not a missing file', () => {
  const { files } = splitCollectorRecords(runLoop(fixturePath('proc'), ['busy']));
  assert.equal(files, { busy: { error: 'exists but cannot be read' } });
});

test('the live /proc of this process reads and parses without errors', () => {
  const config = configFrom({ collectors: { netstat: { enabled: true }, sockstat: { enabled: true } } }).collectors;
  const sample = collectorSample(splitCollectorRecords(runLoop('/proc', ALL_FILES)).files, config);
  assert.equal(sample.errors, []);
  assert.type(sample.netstat.Tcp_InSegs, 'number');
  assert.type(sample.sockstat.sockets_used, 'number');
});

test('the files are read by the read fragment: what runs between (ip, in the reader) changes nothing, and prints before the records', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'collector-records-'));
  try {
    mkdirSync(path.join(root, 'net'));
    writeFileSync(path.join(root, 'net/sockstat'), 'sockets: used 0\n');
    const between = `echo '{"ip": "json"}'; echo 'sockets: used 1' > '${root}/net/sockstat'; touch '${root}/net/snmp'`;
    const { before, files } = splitCollectorRecords(runLoop(root, ['net/sockstat', 'net/snmp'], between));
    assert.is(before, '{"ip": "json"}\n');
    assert.equal(files, { 'net/sockstat': 'sockets: used 0\n', 'net/snmp': null });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('odd paths are quoted; no files is a no-op', () => {
  const { files } = splitCollectorRecords(runLoop(fixturePath('proc'), ["it's missing", 'busy/net/snmp']));
  assert.equal(files, { "it's missing": null, 'busy/net/snmp': fixture('proc/busy/net/snmp') });
  assert.is(runLoop('/proc', []), '');
});

test('no records, and a record cut short inside its header, give nothing for those files', () => {
  assert.equal(splitCollectorRecords('{"ip": 1}'), { before: '{"ip": 1}', files: {} });
  const cut = splitCollectorRecords(`x${COLLECTOR_RECORD_MARK}net/snmp\t+\n${fixture('proc/busy/net/snmp')}${COLLECTOR_RECORD_MARK}net/sock`);
  assert.equal(Object.keys(cut.files), ['net/snmp']);
});

test.run();
