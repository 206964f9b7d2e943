import { isAlias, isMap, isScalar, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';

/** Alias expansions allowed in one config (yaml's own default): a real config needs a handful. */
const MAX_ALIAS_COUNT = 100;

export type YamlResult = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * Parses a config file's text; every problem comes back as one `file:line:column: reason` line and
 * nothing throws. Duplicate keys are found here in one pass: yaml's own `uniqueKeys` check compares
 * each key with every earlier one, so 40,000 keys took seconds to minutes.
 */
export function parseConfigYaml(text: string, file: string): YamlResult {
  const lines = new LineCounter();
  const at = (offset: number | undefined): string => {
    const position = offset === undefined ? null : lines.linePos(offset);
    return position === null ? file : `${file}:${position.line}:${position.col}`;
  };
  try {
    const document = parseDocument(text, { uniqueKeys: false, prettyErrors: false, lineCounter: lines });
    const syntax = document.errors[0];
    if (syntax !== undefined) return { ok: false, error: `${at(syntax.pos[0])}: invalid YAML: ${syntax.message.split('\n')[0]}` };
    const structural = findStructuralProblem(document);
    if (structural !== null) return { ok: false, error: `${at(structural.offset)}: invalid YAML: ${structural.reason}` };
    try {
      return { ok: true, value: document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
    } catch (error) {
      if (!/Excessive alias count/.test((error as Error).message)) throw error;
      return { ok: false, error: `${at(firstAliasOffset(document))}: invalid YAML: aliases expand to more than ${MAX_ALIAS_COUNT} nodes` };
    }
  } catch (error) {
    // A stack overflow on absurd nesting, or anything else the parser throws, is still bad input.
    return { ok: false, error: `${file}: invalid YAML: ${(error as Error).message.split('\n')[0]}` };
  }
}

/** An alias with no anchor before it, a key repeated in one mapping, or a key that is a collection. */
function findStructuralProblem(document: Document): { offset: number | undefined; reason: string } | null {
  const anchors = new Set<string>();
  let problem: { offset: number | undefined; reason: string } | null = null;
  visit(document, {
    Node(_key, node: Node, ancestors) {
      if (isAlias(node)) {
        if (!anchors.has(node.source)) problem = { offset: node.range?.[0], reason: `alias *${node.source} names no anchor defined before it` };
        // The anchor's node still open around the alias: the value would contain itself.
        else if (ancestors.some((outer) => (outer as Node).anchor === node.source)) problem = { offset: node.range?.[0], reason: `alias *${node.source} is inside its own anchor` };
      } else if (node.anchor !== undefined) {
        anchors.add(node.anchor);
      }
      if (problem === null && isMap(node)) problem = duplicateKey(node.items);
      return problem === null ? undefined : visit.BREAK;
    },
    // Pairs appear in maps and, as "[a: b]", in lists: a collection as key would be stringified.
    Pair(_key, pair) {
      if (pair.key === null || isScalar(pair.key)) return undefined;
      problem = { offset: (pair.key as Node).range?.[0], reason: 'a mapping key must be a plain value, not a list, mapping or alias' };
      return visit.BREAK;
    },
  });
  return problem;
}

function duplicateKey(items: readonly { key: unknown }[]): { offset: number | undefined; reason: string } | null {
  const seen = new Set<string>();
  for (const { key } of items) {
    if (!isScalar(key)) continue;
    const name = String(key.value);
    if (seen.has(name)) return { offset: key.range?.[0], reason: `duplicate key ${JSON.stringify(name)}` };
    seen.add(name);
  }
  return null;
}

function firstAliasOffset(document: Document): number | undefined {
  let offset: number | undefined;
  visit(document, {
    Alias(_key, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}
