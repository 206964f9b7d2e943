// `npm start`: builds only when a source file is newer than the last build, then runs the agent in
// this process (so signals reach it directly, as with `node dist/agent/main.js`).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// The installed command's own entry point, as package.json names it.
const built = path.join(root, JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).bin['netns-exporter']);

function newestSource() {
  let newest = statSync(path.join(root, 'tsconfig.json')).mtimeMs;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(file).mtimeMs);
    }
  };
  for (const dir of ['agent', 'shared']) walk(path.join(root, dir));
  return newest;
}

let builtAt = 0;
try {
  builtAt = statSync(built).mtimeMs;
} catch {
  // never built
}
if (builtAt < newestSource()) {
  process.stderr.write('npm start: sources changed since the last build; building (npm run build)\n');
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
}
await import(built);
