import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BENCH_PREFIX, NamespacePool, listOwnNamespaces, withNamespaces } from '../../bench/namespaces.js';
import { runWhen } from '../helpers/requirements.js';

const test = suite('bench namespaces');

function linksIn(ns: string): { ifname: string; operstate: string; addr_info: { local: string; family: string }[] }[] {
  return JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'addr', 'show'], { encoding: 'utf8' }));
}

function hostLinks(): string[] {
  return (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string }[]).map((link) => link.ifname);
}

test('grow creates namespaces with a veth pair inside, up and addressed, and tops up instead of recreating', async () => {
  const before = hostLinks();
  await withNamespaces({ tag: 'g' }, async (pool) => {
    const first = await pool.grow(3);
    assert.is(first.length, 3);
    assert.ok(first.every((ns) => ns.name.startsWith(`${BENCH_PREFIX}g-`) && existsSync(ns.path)));
    const inode = execFileSync('stat', ['-c', '%i', first[0]!.path], { encoding: 'utf8' });
    const all = await pool.grow(5);
    assert.is(all.length, 5);
    assert.is(execFileSync('stat', ['-c', '%i', all[0]!.path], { encoding: 'utf8' }), inode, 'the first namespaces are kept');
    const links = linksIn(all[4]!.name);
    assert.equal(links.map((link) => link.ifname).sort(), ['lo', 'veth0', 'veth1']);
    assert.ok(links.find((link) => link.ifname === 'veth0')!.addr_info.some((a) => a.local === '10.0.0.1'));
    assert.is(links.find((link) => link.ifname === 'veth1')!.operstate, 'UP');
    assert.equal(hostLinks(), before, 'no device ever appears on the host');
    assert.equal(await listOwnNamespaces(pool.prefix), all.map((ns) => ns.name));
  });
  assert.equal(await listOwnNamespaces(`${BENCH_PREFIX}g-`), [], 'withNamespaces removed them');
});

test('the whitelist pattern matches the pool and nothing else', () => {
  const pool = new NamespacePool({ tag: 'w' });
  const pattern = new RegExp(pool.whitelistPattern, 'u');
  assert.ok(pattern.test(`${BENCH_PREFIX}w-00001`));
  assert.not.ok(pattern.test(`${BENCH_PREFIX}x-00001`));
  assert.not.ok(pattern.test(`nxt${process.pid}-w-00001`));
  assert.throws(() => new NamespacePool({ tag: 'A-b' }), /tag/);
});

test('namespaces are removed when the process is interrupted', async () => {
  const script = `
    import { NamespacePool } from ${JSON.stringify(new URL('../../bench/namespaces.js', import.meta.url).href)};
    const pool = new NamespacePool({ tag: 's', configure: false });
    await pool.grow(4);
    console.log(pool.prefix);
    setInterval(() => {}, 1000);
  `;
  const child = (await import('node:child_process')).spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const prefix = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  assert.is((await listOwnNamespaces(prefix)).length, 4);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.kill('SIGINT');
  assert.is(await exited, 130);
  assert.equal(await listOwnNamespaces(prefix), []);
});

runWhen(test, ['root', 'ip'], 'bench namespaces');
