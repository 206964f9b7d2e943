import { sameItems } from '../compare.js';
import type { LabelSet } from './labels.js';

/**
 * What the push targets read of a metric family: its series by slot. A slot holds one series (one
 * label set) from the cycle it first appears until a cycle that lacks it; its key names it within
 * the family, and slot and key mean the same series for as long as the family's `table` is the
 * same object, so a reader may keep per-slot state between cycles (remote_write keeps each
 * series' encoded labels).
 */
export interface SeriesFamily {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly labelNames: readonly string[];
  /** The table the slots belong to: compared by identity. */
  readonly table: object;
  /** Series this cycle; `order[0 .. count)` are their slots, in the order they were first set. */
  readonly count: number;
  readonly order: ArrayLike<number>;
  /** By slot. */
  readonly keys: ArrayLike<string | undefined>;
  readonly labels: ArrayLike<LabelSet | undefined>;
  readonly slotValues: ArrayLike<number>;
  /** By slot, where a series is named apart from its family (a histogram's _bucket, _sum, _count). */
  readonly metricNames?: ArrayLike<string | undefined>;
  /** The cycle's series as objects (tests, the text exposition's builder). */
  readonly values: { labels: LabelSet; value: number }[];
}

/** A label set built only when its key is new: a steady cycle builds none. */
export type LabelSource = LabelSet | (() => LabelSet);

const EMPTY: LabelSet = Object.freeze({}) as LabelSet;

/**
 * One family's series, kept from cycle to cycle: label sets and keys in plain arrays by slot,
 * values and bookkeeping in typed arrays, so a steady cycle only writes numbers. A slot not set
 * in a cycle is freed at its end and reused by the next new series.
 */
export class SlotFamily implements SeriesFamily {
  count = 0;
  order = new Int32Array(8);
  readonly keys: (string | undefined)[] = [];
  readonly labels: (LabelSet | undefined)[] = [];
  slotValues = new Float64Array(8);
  /**
   * By slot: the series' line of the text exposition up to its value (`\nname{label="value",...} `),
   * made when first needed: a steady cycle writes one string and a number per series.
   */
  readonly lineTexts: (string | undefined)[] = [];
  metricNames: (string | undefined)[] | undefined;
  /** By slot: the cycle it was last set in (0: free). */
  #setIn = new Uint32Array(8);
  readonly #byKey = new Map<string, number>();
  readonly #free: number[] = [];
  #previous = new Int32Array(8);
  #previousCount = 0;
  #cycle = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: string,
    readonly labelNames: readonly string[],
    readonly table: object,
  ) {}

  get cycle(): number {
    return this.#cycle;
  }

  /** Starts cycle `cycle`: no series until set. */
  begin(cycle: number): void {
    const previous = this.#previous;
    this.#previous = this.order;
    this.#previousCount = this.count;
    this.order = previous.length >= this.#previous.length ? previous : new Int32Array(this.#previous.length);
    this.count = 0;
    this.#cycle = cycle;
    if (this.labelNames.length === 0) this.set('', 0, EMPTY);
  }

  /** A gauge's value: the last one given for a key wins. */
  set(key: string, value: number, labels: LabelSource, metricName?: string): void {
    const slot = this.#slot(key, labels, metricName);
    this.slotValues[slot] = value;
  }

  /** A counter's value: values given for one key in one cycle add up. */
  add(key: string, value: number, labels: LabelSource): void {
    const known = this.#byKey.get(key);
    const fresh = known === undefined || this.#setIn[known] !== this.#cycle;
    const slot = this.#slot(key, labels, undefined);
    this.slotValues[slot] = fresh ? value : this.slotValues[slot]! + value;
  }

  /**
   * `set` for a caller that kept the slot this key had (`hint`; -1 when it has none): a steady cycle
   * skips the lookup by key. The hint is checked against the slot's key (a slot freed and reused
   * holds another), so a wrong one costs only the lookup. Returns the slot to keep.
   */
  setAt(hint: number, key: string, value: number, labels: LabelSource): number {
    const slot = this.keys[hint] === key ? this.#mark(hint) : this.#slot(key, labels, undefined);
    this.slotValues[slot] = value;
    return slot;
  }

  /** `add` with a kept slot, as setAt. */
  addAt(hint: number, key: string, value: number, labels: LabelSource): number {
    const known = this.keys[hint] === key;
    const fresh = !known || this.#setIn[hint] !== this.#cycle;
    const slot = known ? this.#mark(hint) : this.#slot(key, labels, undefined);
    this.slotValues[slot] = fresh ? value : this.slotValues[slot]! + value;
    return slot;
  }

  /** Frees the slots of the series the cycle no longer has. */
  finish(): void {
    for (let index = 0; index < this.#previousCount; index++) {
      const slot = this.#previous[index]!;
      if (this.#setIn[slot] === this.#cycle || this.#setIn[slot] === 0) continue;
      this.#release(slot);
    }
  }

  get values(): { labels: LabelSet; value: number }[] {
    const values: { labels: LabelSet; value: number }[] = [];
    for (let index = 0; index < this.count; index++) {
      const slot = this.order[index]!;
      values.push({ labels: this.labels[slot]!, value: this.slotValues[slot]! });
    }
    return values;
  }

  #slot(key: string, labels: LabelSource, metricName: string | undefined): number {
    let slot = this.#byKey.get(key);
    if (slot === undefined) {
      slot = this.#free.pop() ?? this.keys.length;
      this.#byKey.set(key, slot);
      this.keys[slot] = key;
      this.labels[slot] = typeof labels === 'function' ? labels() : labels;
      if (metricName !== undefined) (this.metricNames ??= [])[slot] = metricName;
      this.#grow(slot + 1);
    }
    return this.#mark(slot);
  }

  /** The slot is set this cycle: listed in `order` once. */
  #mark(slot: number): number {
    if (this.#setIn[slot] !== this.#cycle) {
      this.#setIn[slot] = this.#cycle;
      if (this.count === this.order.length) this.order = grown(this.order, this.count + 1);
      this.order[this.count++] = slot;
    }
    return slot;
  }

  #release(slot: number): void {
    this.#byKey.delete(this.keys[slot]!);
    this.keys[slot] = undefined;
    this.labels[slot] = undefined;
    this.lineTexts[slot] = undefined;
    if (this.metricNames !== undefined) this.metricNames[slot] = undefined;
    this.#setIn[slot] = 0;
    this.#free.push(slot);
  }

  #grow(slots: number): void {
    if (slots <= this.slotValues.length) return;
    this.slotValues = grown(this.slotValues, slots);
    this.#setIn = grown(this.#setIn, slots);
  }
}

function grown<T extends Int32Array | Uint32Array | Float64Array>(array: T, needed: number): T {
  let size = Math.max(8, array.length * 2);
  while (size < needed) size *= 2;
  const next = new (array.constructor as new (length: number) => T)(size);
  next.set(array);
  return next;
}

/**
 * The families of the cycles of one configuration. Each cycle asks for its families in order
 * (`family`) and sets their series; `done` frees what the cycle no longer has and lists the
 * cycle's families. A family not asked for in a cycle is dropped with its series.
 */
export class FamilyTable {
  readonly #families = new Map<string, SlotFamily>();
  #list: SlotFamily[] = [];
  #cycle = 0;

  begin(): void {
    this.#cycle += 1;
    this.#list = [];
  }

  family(spec: { name: string; help: string; type: string }, labelNames: readonly string[]): SlotFamily {
    let family = this.#families.get(spec.name);
    if (family === undefined || family.type !== spec.type || family.help !== spec.help || !sameItems(family.labelNames, labelNames)) {
      family = new SlotFamily(spec.name, spec.help, spec.type, labelNames, this);
      this.#families.set(spec.name, family);
    }
    if (family.cycle !== this.#cycle) {
      family.begin(this.#cycle);
      this.#list.push(family);
    }
    return family;
  }

  done(): SlotFamily[] {
    for (const family of this.#list) family.finish();
    if (this.#families.size !== this.#list.length) {
      for (const [name, family] of this.#families) if (family.cycle !== this.#cycle) this.#families.delete(name);
    }
    return this.#list;
  }
}

/** A key for a label set given whole (few series: self figures, process figures, tests). */
export function labelKey(labels: Readonly<Record<string, string | number | undefined>>, metricName = ''): string {
  let key = metricName;
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name];
    if (value !== undefined) key += `\u0000${name}\u0000${value}`;
  }
  return key;
}

/** A family given as values (prom-client's getMetricsAsJSON(), tests). */
export interface FamilyValues {
  name: string;
  help: string;
  type: string;
  labelNames?: readonly string[];
  values: readonly { labels: Readonly<Record<string, string | number | undefined>>; value: number; metricName?: string }[];
}

/**
 * Families given as values → series families in `table` (kept between cycles by the caller, or a
 * new one). A label set given twice keeps the last value.
 */
export function familiesFromValues(list: readonly FamilyValues[], table = new FamilyTable()): SlotFamily[] {
  table.begin();
  for (const entry of list) {
    const family = table.family(entry, entry.labelNames ?? [...new Set(entry.values.flatMap((value) => Object.keys(value.labels)))]);
    for (const { labels, value, metricName } of entry.values) {
      const own = metricName === undefined || metricName === entry.name ? undefined : metricName;
      family.set(labelKey(labels, own), value, () => stringLabels(labels), own);
    }
  }
  return table.done();
}

function stringLabels(labels: Readonly<Record<string, string | number | undefined>>): LabelSet {
  const set: LabelSet = {};
  for (const name in labels) {
    const value = labels[name];
    if (value !== undefined) set[name] = String(value);
  }
  return set;
}
