import type { GrowingBuffer } from '../growingBuffer.js';
import type { SlotFamily } from './familyTable.js';
import type { LabelSet } from './labels.js';

/** The text exposition format 0.0.4, what the Pushgateway takes and /metrics serves. */
const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What the push targets and /metrics read of a cycle's text: prom-client's Registry has the same two members. */
export interface Exposition {
  readonly contentType: string;
  metrics(): Promise<string>;
  /**
   * The same text as UTF-8 bytes, written into `into` from its start: a push sends these without a
   * string of the whole text being made each cycle. The view is valid until `into` is written again.
   */
  bytes?(into: GrowingBuffer): Promise<Buffer>;
}

/**
 * The families as text, byte for byte what prom-client writes for them (HELP, TYPE, one line per
 * series, families apart by a blank line, no final newline). Each series' `{label="value",...}`
 * text is kept in its slot from cycle to cycle, so a steady cycle formats only values.
 */
function familiesText(families: readonly SlotFamily[]): string {
  let text = '';
  for (let index = 0; index < families.length; index++) {
    const family = families[index]!;
    const name = escapeText(family.name);
    if (index > 0) text += '\n\n';
    text += `# HELP ${name} ${escapeText(family.help)}\n# TYPE ${name} ${family.type}`;
    const { order, slotValues, lineTexts } = family;
    for (let position = 0; position < family.count; position++) {
      const slot = order[position]!;
      text += (lineTexts[slot] ?? (lineTexts[slot] = lineText(name, family.labels[slot]!))) + valueText(slotValues[slot]!);
    }
  }
  return text;
}

/** familiesText's bytes, written into `into`: series by series, values formatted in place. */
function writeFamilies(families: readonly SlotFamily[], into: GrowingBuffer): void {
  for (let index = 0; index < families.length; index++) {
    const family = families[index]!;
    const name = escapeText(family.name);
    if (index > 0) into.latin1('\n\n');
    into.utf8(`# HELP ${name} ${escapeText(family.help)}\n# TYPE ${name} ${family.type}`);
    const { order, slotValues, lineTexts } = family;
    for (let position = 0; position < family.count; position++) {
      const slot = order[position]!;
      into.utf8(lineTexts[slot] ?? (lineTexts[slot] = lineText(name, family.labels[slot]!)));
      writeValue(slotValues[slot]!, into);
    }
  }
}

/**
 * A cycle's exposition: its families' text, made when first asked for (an agent that serves no
 * /metrics and pushes no text never makes it), then whatever `more` renders (prom-client's process
 * figures, read at that moment as a merged registry would). The families' slots take the next
 * cycle's values: asked for only after that, it refuses rather than mix two cycles.
 */
export function cycleExposition(families: readonly SlotFamily[], more?: () => Promise<string>): Exposition {
  const cycles = families.map((family) => family.cycle);
  let text: string | null = null;
  const current = (): void => {
    if (families.some((family, index) => family.cycle !== cycles[index])) throw new Error('the text of an earlier cycle was asked for after the next cycle began');
  };
  const render = (): string => {
    if (text !== null) return text;
    current();
    text = familiesText(families);
    return text;
  };
  return {
    contentType: TEXT_CONTENT_TYPE,
    metrics: async () => {
      const own = render();
      return more === undefined ? `${own}\n` : `${own}\n\n${await more()}`;
    },
    bytes: async (into) => {
      into.reset();
      if (text !== null) {
        into.utf8(text);
      } else {
        current();
        writeFamilies(families, into);
      }
      if (more === undefined) {
        into.byte(0x0a);
      } else {
        const rest = await more();
        into.latin1('\n\n');
        into.utf8(rest);
      }
      return into.bytes();
    },
  };
}

/** A series' line up to its value: newline, name, labels, the space before the value. */
function lineText(name: string, labels: LabelSet): string {
  return `\n${name}${labelText(labels)} `;
}

function labelText(labels: LabelSet): string {
  let text = '';
  for (const name in labels) text += `${text === '' ? '{' : ','}${name}="${escapeText(labels[name]!).replace(/"/g, '\\"')}"`;
  return text === '' ? '' : `${text}}`;
}

function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** valueText's bytes; a whole number without making its string. */
function writeValue(value: number, into: GrowingBuffer): void {
  if (Number.isSafeInteger(value)) into.decimal(value);
  else into.latin1(valueText(value));
}

/** As prom-client writes values: `Nan`, `+Inf`, `-Inf`, else JavaScript's own number text. */
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}
