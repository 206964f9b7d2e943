import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentHttpServer } from '../../agent/httpServer.js';
import { memoryLogger } from '../helpers/remoteWrite.js';

/** Small statements in the docs and packaging files that the shipped code and files must bear out. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const README = read('README.md');

const test = suite('docs: small statements match what ships');

/** Every file under `dir` (relative to the repo), recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const relative = path.join(dir, name);
    return statSync(path.join(ROOT, relative)).isDirectory() ? filesUnder(relative) : [relative];
  });
}

const DOCUMENTS = ['README.md', 'CHANGELOG.md', ...filesUnder('docs'), ...filesUnder('packaging')];

test('the log text the docs tell operators to look for is the text the agent logs', () => {
  // agent/targets/status.ts logs `${target} push failed`; targets are named pushgateway and remote_write.
  assert.ok(read('agent/targets/status.ts').includes('`${this.name} push failed`'), 'the push failure log line changed: update this test');
  const logged = new Set(['pushgateway push failed', 'remote_write push failed']);
  const quoted = DOCUMENTS.flatMap((file) => [...read(file).matchAll(/`([^`\n]*push failed)`/gi)].map((match) => ({ file, text: match[1]! })));
  assert.ok(quoted.length > 0, 'the docs quote the push failure line somewhere');
  for (const { file, text } of quoted) assert.ok(logged.has(text), `${file} quotes \`${text}\`; the agent logs one of: ${[...logged].join(', ')}`);
});

test('every README section a file refers to exists', () => {
  const headings = new Set([...README.matchAll(/^#{2,4} (.+)$/gm)].map((match) => match[1]!.trim()));
  const references = DOCUMENTS.flatMap((file) => [
    ...read(file).matchAll(/(?:the README, |README's )"([^"]+)"/g),
    ...read(file).matchAll(/"([^"]+)" in the README/g),
  ].map((match) => ({ file, section: match[1]! })));
  assert.ok(references.length > 0, 'some file refers to a README section');
  for (const { file, section } of references) assert.ok(headings.has(section), `${file} refers to the README's "${section}", which has no such heading`);
});

test('the mode of /etc/netns-exporter is the same wherever an install step creates it', () => {
  const modes = DOCUMENTS.flatMap((file) => [...read(file).matchAll(/install -d -m (\d+) \/etc\/netns-exporter\b/g)].map((match) => `${match[1]} (${file})`));
  // The README's npm install creates it; the unit's header no longer repeats the steps (the Debian
  // package creates it with mode 0755 too: build-deb.sh's install -D under umask 022).
  assert.ok(modes.length >= 1, `the README creates it: ${modes.join(', ')}`);
  if (modes[0]!.startsWith('0755')) assert.match(read('packaging/deb/build-deb.sh'), /^umask 022$/m, 'the package makes /etc/netns-exporter 0755');
  assert.is(new Set(modes.map((mode) => mode.split(' ')[0])).size, 1, modes.join(', '));
});

test('GET / on the health listener answers, and the docs say so', async () => {
  const server = new AgentHttpServer({
    host: '127.0.0.1', port: 0, requestTimeoutMs: 5_000, logger: memoryLogger().logger,
    routes: { metrics: null, health: () => ({ status: 'ok' }) as never },
  });
  const address = await server.start();
  try {
    const response = await fetch(`http://127.0.0.1:${address.port}/`);
    assert.is(response.status, 200);
    const page = await response.text();
    assert.match(page, /href="\/healthz"/);
    assert.not.match(page, /metrics/i, 'no /metrics link where none is served');
  } finally {
    await server.stop();
  }
  const listenRow = read('docs/configuration.md').split('\n').find((line) => line.startsWith('| `health.listen` |')) ?? '';
  assert.match(listenRow, /`GET \/`/, 'docs/configuration.md: health.listen row');
  const health = README.slice(README.indexOf('## Health'), README.indexOf('\n## ', README.indexOf('## Health') + 1));
  assert.match(health, /`GET \/`/, 'README: Health section');
});

test('where a user tests one node against VictoriaMetrics, the ~30 s before a sample shows is said', () => {
  for (const file of ['packaging/examples/remote-write-victoriametrics.yaml', 'docs/troubleshooting.md']) {
    assert.match(read(file), /-search\.latencyOffset/, file);
    assert.match(read(file), /30 ?s/, file);
  }
});

test.run();
