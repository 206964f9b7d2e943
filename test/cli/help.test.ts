import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI_OPTIONS } from '../../agent/cli.js';
import { runAgent } from '../helpers/agent.js';

const test = suite('CLI: --help');

test('--help lists every flag the parser accepts, each with its default', () => {
  const help = runAgent(['--help']);
  assert.is(help.status, 0, help.stderr);
  // An option's entry runs from its line to the next option's line (descriptions wrap).
  const entries = help.stdout.split(/\n(?=\s+(?:-\w, )?--)/);
  for (const name of Object.keys(CLI_OPTIONS)) {
    const entry = entries.find((text) => new RegExp(`^\\s+(?:-\\w, )?--${name}\\b`).test(text) || new RegExp(`alias --${name}\\b`).test(text));
    assert.ok(entry, `--${name} is listed`);
    if (name === 'help' || name === 'version') continue;
    assert.match(entry!, /\(default/, `--${name} says its default`);
  }
});

test.run();
