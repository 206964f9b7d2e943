#!/usr/bin/env -S node --max-semi-space-size=2 --v8-pool-size=1
// The flag: see main.ts, whose own first line (for `node dist/agent/main.js` run as a file) is the same.
// The `netns-exporter` command. Only this file (or running main.js itself) starts the agent: the
// package exports no module, so importing it cannot.
import { runAsProgram } from './main.js';

runAsProgram(process.argv.slice(2));
