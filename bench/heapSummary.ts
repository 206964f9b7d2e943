/**
 * Reads a V8 heap snapshot (.heapsnapshot JSON, as v8.writeHeapSnapshot and worker.getHeapSnapshot()
 * write it) and sums it up: self size by constructor (DevTools' "Constructor" column: an object's
 * class, or the kind of V8-internal thing), and the code each module holds (its source text, its
 * functions' SharedFunctionInfos, bytecode and closures), grouped by package.
 *
 *   node dist/bench/heapSummary.js FILE.heapsnapshot [SMALLER.heapsnapshot COUNT_SMALL COUNT_LARGE]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { fixed, formatTable } from './figures.js';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Bucket {
  bytes: number;
  count: number;
}

export interface HeapSummary {
  totalBytes: number;
  nodes: number;
  byConstructor: Map<string, Bucket>;
  /** Code by package: `node:internal`, `pino`, `agent/readers`, ... */
  byModule: Map<string, Bucket>;
}

function add(map: Map<string, Bucket>, key: string, bytes: number): void {
  const bucket = map.get(key);
  if (bucket === undefined) map.set(key, { bytes, count: 1 });
  else {
    bucket.bytes += bytes;
    bucket.count += 1;
  }
}

/** What DevTools would list a node under in its Constructor view. */
function constructorOf(type: string, name: string): string {
  switch (type) {
    case 'object':
    case 'native':
    case 'regexp':
      return name.replace(/ \/ .*$/, '').slice(0, 60) || `(${type})`;
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)';
    case 'closure':
      return '(closure)';
    case 'number':
    case 'heap number':
      return '(number)';
    case 'code':
      return name.startsWith('system /') ? `(code) ${name.slice(9)}` : '(code)';
    case 'array':
      return `(array) ${name}`;
    case 'hidden':
      return name.startsWith('system /') ? `(system) ${name.slice(9)}` : `(system) ${name.slice(0, 40)}`;
    default:
      return `(${type})`;
  }
}

/** A script's URL or path as a package: node_modules/<pkg>, node's own, or the project's folder. */
export function moduleOf(url: string): string {
  if (url === '') return '(no script name)';
  if (url.startsWith('node:')) return 'node: (built-in JS)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules !== null) return modules[1]!;
  const own = /\/dist\/((?:agent|shared|bench|test)(?:\/[^/]+)?)\//.exec(url);
  if (own !== null) return own[1]!;
  const file = /\/dist\/((?:agent|shared|bench|test))\/[^/]+$/.exec(url);
  if (file !== null) return file[1]!;
  return url.startsWith('evalmachine') || url.startsWith('[') ? url.slice(0, 30) : `(other) ${url.slice(-40)}`;
}

export function summarizeHeapSnapshot(data: Snapshot): HeapSummary {
  const meta = data.snapshot.meta;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const typeAt = meta.node_fields.indexOf('type');
  const nameAt = meta.node_fields.indexOf('name');
  const sizeAt = meta.node_fields.indexOf('self_size');
  const edgeCountAt = meta.node_fields.indexOf('edge_count');
  const edgeTypeAt = meta.edge_fields.indexOf('type');
  const edgeNameAt = meta.edge_fields.indexOf('name_or_index');
  const edgeToAt = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = data;
  const count = nodes.length / nodeFields;
  const firstEdge = new Uint32Array(count + 1);
  for (let node = 0, edge = 0; node < count; node += 1) {
    firstEdge[node] = edge;
    edge += nodes[node * nodeFields + edgeCountAt]! * edgeFields;
    firstEdge[node + 1] = edge;
  }
  const type = (node: number) => nodeTypes[nodes[node * nodeFields + typeAt]!]!;
  const name = (node: number) => strings[nodes[node * nodeFields + nameAt]!]!;
  const size = (node: number) => nodes[node * nodeFields + sizeAt]!;
  /** The node a named (non-element) edge of `node` leads to, or -1. */
  const child = (node: number, edgeName: string): number => {
    for (let edge = firstEdge[node]!; edge < firstEdge[node + 1]!; edge += edgeFields) {
      const kind = edgeTypes[edges[edge + edgeTypeAt]!];
      if (kind === 'element' || kind === 'hidden') continue;
      if (strings[edges[edge + edgeNameAt]!] === edgeName) return edges[edge + edgeToAt]! / nodeFields;
    }
    return -1;
  };

  /** Nodes an element, hidden or weak edge of `node` leads to (a list's members). */
  const members = (node: number): number[] => {
    const out: number[] = [];
    for (let edge = firstEdge[node]!; edge < firstEdge[node + 1]!; edge += edgeFields) {
      const kind = edgeTypes[edges[edge + edgeTypeAt]!];
      if (kind === 'element' || kind === 'hidden' || kind === 'weak') out.push(edges[edge + edgeToAt]! / nodeFields);
    }
    return out;
  };

  const summary: HeapSummary = { totalBytes: 0, nodes: count, byConstructor: new Map(), byModule: new Map() };
  let scriptList = -1;
  for (let node = 0; node < count; node += 1) {
    summary.totalBytes += size(node);
    add(summary.byConstructor, constructorOf(type(node), name(node)), size(node));
    if (scriptList < 0 && type(node) === 'synthetic') scriptList = child(node, 'script_list');
  }
  // Scripts (V8's script_list, each named by its URL): their source text, and the functions of
  // their shared-function-info list with the bytecode and metadata each holds.
  const sfiModule = new Map<number, string>();
  for (const script of scriptList < 0 ? [] : members(scriptList)) {
    if (type(script) !== 'code' || child(script, 'source') < 0) continue;
    const module = moduleOf(name(script));
    const source = child(script, 'source');
    add(summary.byModule, module, size(script) + size(source));
    for (const list of members(script)) {
      if (name(list) !== 'system / WeakFixedArray') continue;
      add(summary.byModule, module, size(list));
      for (const sfi of members(list)) {
        if (type(sfi) !== 'code' || sfiModule.has(sfi)) continue;
        sfiModule.set(sfi, module);
        let bytes = size(sfi);
        for (const edgeName of ['function_data', 'name_or_scope_info', 'feedback_metadata', 'outer_scope_info_or_feedback_metadata']) {
          const held = child(sfi, edgeName);
          if (held >= 0 && type(held) !== 'string' && !name(held).startsWith('system / FunctionTemplateInfo')) bytes += size(held);
        }
        add(summary.byModule, module, bytes);
      }
    }
  }
  // Closures go to their SharedFunctionInfo's module, with their feedback (vector and cell).
  for (let node = 0; node < count; node += 1) {
    if (type(node) !== 'closure') continue;
    const module = sfiModule.get(child(node, 'shared')) ?? '(native or built-in)';
    const feedback = child(node, 'feedback_cell');
    const vector = feedback < 0 ? -1 : child(feedback, 'value');
    add(summary.byModule, module, size(node) + (feedback < 0 ? 0 : size(feedback)) + (vector < 0 || name(vector) !== 'system / FeedbackVector' ? 0 : size(vector)));
  }
  return summary;
}

function top(map: Map<string, Bucket>, limit: number): [string, Bucket][] {
  return [...map].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, limit);
}

const mb = (bytes: number) => fixed(bytes / 1024 / 1024, 2);

export function heapSummaryLines(summary: HeapSummary, limit = 15): string[] {
  const codeBytes = [...summary.byModule.values()].reduce((sum, bucket) => sum + bucket.bytes, 0);
  return [
    `heap (self sizes): ${mb(summary.totalBytes)} MB in ${summary.nodes} objects; code of modules ${mb(codeBytes)} MB`,
    ...formatTable(['by constructor', 'MB', 'objects'], top(summary.byConstructor, limit).map(([key, bucket]) => [key, mb(bucket.bytes), String(bucket.count)])),
    ...formatTable(['code by module (source, functions, bytecode, closures)', 'MB', 'objects'], top(summary.byModule, limit).map(([key, bucket]) => [key, mb(bucket.bytes), String(bucket.count)])),
  ];
}

/** Per namespace (the slope between two counts) and fixed (the intercept), by constructor. */
export function perNamespaceLines(small: HeapSummary, large: HeapSummary, smallCount: number, largeCount: number, limit = 12): string[] {
  const span = largeCount - smallCount;
  const perNs = (a: number, b: number) => (b - a) / span;
  const keys = new Set([...small.byConstructor.keys(), ...large.byConstructor.keys()]);
  const rows = [...keys].map((key) => {
    const a = small.byConstructor.get(key)?.bytes ?? 0;
    const b = large.byConstructor.get(key)?.bytes ?? 0;
    return { key, slope: perNs(a, b), fixedBytes: a - perNs(a, b) * smallCount };
  }).sort((x, y) => Math.abs(y.slope) - Math.abs(x.slope)).slice(0, limit);
  const slope = perNs(small.totalBytes, large.totalBytes);
  return [
    `whole heap: ${fixed(slope / 1024, 2)} KiB per namespace, ${mb(small.totalBytes - slope * smallCount)} MB fixed`,
    ...formatTable(['constructor', 'bytes/namespace', 'fixed MB'], rows.map((row) => [row.key, fixed(row.slope, 0), mb(row.fixedBytes)])),
  ];
}

function cli(args: string[]): number {
  if (args.length !== 1 && args.length !== 4) {
    console.error('usage: heapSummary.js FILE.heapsnapshot [SMALLER.heapsnapshot COUNT_SMALL COUNT_LARGE]');
    return 2;
  }
  const load = (file: string) => summarizeHeapSnapshot(JSON.parse(readFileSync(file, 'utf8')) as Snapshot);
  const summary = load(args[0]!);
  for (const line of heapSummaryLines(summary, 25)) console.log(line);
  if (args.length === 4) {
    console.log('');
    for (const line of perNamespaceLines(load(args[1]!), summary, Number(args[2]), Number(args[3]))) console.log(line);
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = cli(process.argv.slice(2));
