#!/usr/bin/env node
// The `netns-exporter` command. Only this file (or running main.js itself) starts the agent: the
// package exports no module, so importing it cannot.
import { runAsProgram } from './main.js';

runAsProgram(process.argv.slice(2));
