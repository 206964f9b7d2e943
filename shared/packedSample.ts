import { INTERFACE_STATS } from './interfaceStats.js';
import { unpackInterfaces, type PackedInterfacesWriter } from './packedInterfaces.js';
import { COLLECTOR_PARTS, type CollectorPart, type CollectorSample, type CollectorVisit, type DeviceView, type InterfaceAddress, type InterfaceSample, type NamespaceSample } from './snapshot.js';

/**
 * A whole namespace reading in the form the setns worker posts it: a run of numbers inside its
 * batch's one array, and its devices' text, where an object graph (devices, proc values, a record
 * per collector) would be rebuilt object by object on the main thread by structured clone and then
 * held there until the cycle's families are built. Held that long, a thousand namespaces' objects
 * outlived the young generation's collections and were promoted each cycle (1.8 KB per namespace);
 * packed, a reading is a small object pointing into its batch's numbers and its text, and the
 * objects are made when the families ask, and die young.
 *
 * numbers, from `at`: [D, the devices' D numbers (packedInterfaces.ts), P, the P proc_metrics
 * values in config order (NaN: unreadable), then for each of COLLECTOR_PARTS: K, and when K > 0
 * the number of its list of names in the batch's `names`, then its K values]. text: the devices'
 * strings, each ended by NUL (names, states, addresses: the same from cycle to cycle, so a reader
 * may keep it and send it again only when it changes). errors: the collector files' problems
 * (rare), absent when there are none.
 */
export interface PackedBatch {
  numbers: Float64Array;
  /** The collectors' field names, list by list (NameLists). */
  names: readonly (readonly string[])[];
}

/** Where one reading's numbers start in its batch, and its collector files' problems. */
export interface PackedAt {
  at: number;
  errors?: string[];
}

const HEADER = 1;
/** Shared by every sample without errors (collector files, proc files); frozen, so a push onto it throws. */
const NO_ERRORS: readonly string[] = Object.freeze([]);

/**
 * The lists of collector field names of one batch, each sent once: the namespaces of a host report
 * the same fields, so a reading refers to a list by its number instead of carrying the names.
 */
export class NameLists {
  readonly lists: string[][] = [];
  readonly #ids = new Map<string, number>();
  /** The last list asked for, by part: nearly always the one asked for next. */
  readonly #last = new Map<CollectorPart, { names: string[]; id: number }>();

  /** The number of the list holding `values`' names in order; a new list when none does. */
  idOf(part: CollectorPart, values: Readonly<Record<string, number>>): number {
    const last = this.#last.get(part);
    if (last !== undefined && sameNames(last.names, values)) return last.id;
    const names = Object.keys(values);
    const key = names.join('\0');
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.lists.length;
      this.lists.push(names);
      this.#ids.set(key, id);
    }
    this.#last.set(part, { names: this.lists[id]!, id });
    return id;
  }

  /** Empty again, for the next batch. */
  reset(): void {
    this.lists.length = 0;
    this.#ids.clear();
    this.#last.clear();
  }
}

function sameNames(names: readonly string[], values: Readonly<Record<string, number>>): boolean {
  let index = 0;
  for (const name in values) {
    if (names[index] !== name) return false;
    index += 1;
  }
  return index === names.length;
}

/**
 * Writes one namespace's reading at the end of `writer`: `writeDevices` parses its devices into it,
 * then the proc values and the collectors' figures follow, their names as lists of `names`.
 * Returns the errors to send beside it. A throw leaves the writer as it was.
 */
export function packReadingInto(
  writer: PackedInterfacesWriter, writeDevices: () => void, procValues: readonly (number | null)[], collectors: CollectorSample, names: NameLists,
): string[] | undefined {
  const start = writer.length;
  const textStart = writer.text.length;
  try {
    writer.push(0);
    writeDevices();
    writer.set(start, writer.length - start - HEADER);
    writer.push(procValues.length);
    for (const value of procValues) writer.push(value ?? Number.NaN);
    for (const part of COLLECTOR_PARTS) {
      const values = collectors[part];
      const count = countOf(values);
      writer.push(count);
      if (count === 0) continue;
      writer.push(names.idOf(part, values));
      for (const name in values) writer.push(values[name]!);
    }
  } catch (error) {
    writer.truncate(start, textStart);
    throw error;
  }
  return collectors.errors.length > 0 ? collectors.errors : undefined;
}

function countOf(values: Readonly<Record<string, number>>): number {
  let count = 0;
  for (const _ in values) count += 1;
  return count;
}

const DEVICE_STATS = INTERFACE_STATS.length;

/**
 * A reading's devices' text, and its strings split out of it when first asked for. The setns pool
 * keeps a held namespace's text from cycle to cycle while it does not change, and this with it: the
 * strings (device names, states, addresses) are made once, not sliced again each cycle, which was
 * an eighth of what the main thread allocated in a steady cycle (HeapProfiler sampling).
 */
export class DeviceText {
  readonly text: string;
  #strings: readonly string[] | null = null;

  constructor(text: string) {
    this.text = text;
  }

  /** The text's NUL-ended strings in order (and a last empty one after the last NUL). */
  get strings(): readonly string[] {
    this.#strings ??= this.text.split('\0');
    return this.#strings;
  }
}

/**
 * A packed reading as the rest of the agent reads a NamespaceSample: each part is made when asked
 * for (the families ask once, at the cycle's end), so a cycle's samples hold two objects each
 * while the other namespaces are read.
 */
export class PackedSample implements NamespaceSample {
  #numbers: Float64Array = NO_NUMBERS;
  #text: DeviceText = NO_TEXT;
  #names: readonly (readonly string[])[] = [];
  #at = 0;
  #errors: readonly string[] = NO_ERRORS;
  #procNames: readonly string[] = NO_ERRORS;

  /** `text`: the reading's devices' text; `procNames`: the proc_metrics names in config order (the worker knows only their files). */
  constructor(batch: PackedBatch, reading: PackedAt, text: string | DeviceText, procNames: readonly string[]) {
    this.refill(batch, reading, text, procNames);
  }

  /**
   * Shows another reading from now on, as if made anew for it: the setns pool reads a held
   * namespace into the same two samples in turn (its results live from their read to the cycle's
   * end, long enough to reach the old generation if made afresh each cycle).
   */
  refill(batch: PackedBatch, reading: PackedAt, text: string | DeviceText, procNames: readonly string[]): void {
    this.#numbers = batch.numbers;
    this.#text = typeof text === 'string' ? new DeviceText(text) : text;
    this.#names = batch.names;
    this.#at = reading.at;
    this.#errors = reading.errors ?? NO_ERRORS;
    this.#procNames = procNames;
  }

  eachDevice(visit: (device: DeviceView) => void): void {
    const n = this.#numbers;
    const end = this.#at + HEADER + n[this.#at]!;
    // One view for every sample's devices, shown in turn (a view per sample was 60 bytes a
    // namespace a cycle); another only if a visit shows another sample's devices meanwhile.
    const view = spareView ?? new PackedDevice();
    spareView = null;
    view.showIn(n, this.#text.strings);
    let at = this.#at + HEADER;
    let string = 0;
    try {
      while (at < end) {
        string = view.moveTo(at, string);
        visit(view);
        at += 3 + DEVICE_STATS + n[at + 2]!;
      }
    } finally {
      // Holding no batch's numbers until the next call.
      view.showIn(NO_NUMBERS, NO_ERRORS);
      spareView = view;
    }
  }

  get interfaces(): InterfaceSample[] {
    const n = this.#numbers;
    const devices = this.#at + HEADER;
    return unpackInterfaces({ numbers: n.subarray(devices, devices + n[this.#at]!), text: this.#text.text });
  }

  get proc(): Record<string, number> {
    const proc: Record<string, number> = {};
    this.#eachProc((name, value) => {
      if (!Number.isNaN(value)) proc[name] = value;
    });
    return proc;
  }

  procValue(name: string): number | undefined {
    const index = this.#procNames.indexOf(name);
    const value = index === -1 ? Number.NaN : this.#procValue(index);
    return Number.isNaN(value) ? undefined : value;
  }

  get procErrors(): string[] {
    // Asked of every namespace each cycle (self-metrics, the log), nearly always empty: no array then.
    let unreadable: string[] | null = null;
    for (let i = 0; i < this.#procNames.length; i += 1) if (Number.isNaN(this.#procValue(i))) (unreadable ??= []).push(this.#procNames[i]!);
    return unreadable ?? (NO_ERRORS as string[]);
  }

  get collectors(): CollectorSample {
    const sample: CollectorSample = { netstat: {}, sockstat: {}, conntrack: {}, errors: [...this.#errors] };
    this.eachCollectorValue((part, name, value) => {
      sample[COLLECTOR_PARTS[part]! satisfies CollectorPart][name] = value;
    });
    return sample;
  }

  eachCollectorValue(visit: CollectorVisit): void {
    const n = this.#numbers;
    let at = this.#procEnd();
    for (let part = 0; part < COLLECTOR_PARTS.length; part++) {
      const count = n[at]!;
      at += 1;
      if (count === 0) continue;
      const names = this.#names[n[at]!] ?? [];
      at += 1;
      for (let i = 0; i < count; i += 1) visit(part, names[i] ?? `field_${i}`, n[at + i]!);
      at += count;
    }
  }

  get collectorErrors(): readonly string[] {
    return this.#errors;
  }

  #eachProc(visit: (name: string, value: number) => void): void {
    for (let i = 0; i < this.#procNames.length; i += 1) visit(this.#procNames[i]!, this.#procValue(i));
  }

  /** The i-th proc value; NaN for one the reading has no value for, unreadable as a null value is. */
  #procValue(i: number): number {
    const at = this.#procStart();
    return i < this.#numbers[at]! ? this.#numbers[at + 1 + i]! : Number.NaN;
  }

  /** Where the proc values' count lies, after the devices. */
  #procStart(): number {
    return this.#at + HEADER + this.#numbers[this.#at]!;
  }

  /** Where the collectors' part of the numbers starts. */
  #procEnd(): number {
    const at = this.#procStart();
    return at + 1 + this.#numbers[at]!;
  }

}

/**
 * The view a packed sample shows its devices through, moved from one device to the next: no object
 * per device, its strings taken from the sample's text as split once (DeviceText), its statistics
 * read where they lie, its addresses made only when asked.
 */
class PackedDevice implements DeviceView {
  name = '';
  operstate = '';
  mac = '';
  linkType = '';
  mtu = 0;
  #numbers: Float64Array = NO_NUMBERS;
  #strings: readonly string[] = NO_ERRORS;
  /** Where the device's numbers start, and where its address strings start among the strings. */
  #at = 0;
  #addressString = 0;

  /** From now on shows devices of the sample whose numbers and strings these are. */
  showIn(numbers: Float64Array, strings: readonly string[]): void {
    this.#numbers = numbers;
    this.#strings = strings;
  }

  /** Shows the device whose numbers start at `at` and strings at `string`; returns where the next one's strings start. */
  moveTo(at: number, string: number): number {
    const strings = this.#strings;
    this.#at = at;
    this.mtu = this.#numbers[at + 1]!;
    this.name = strings[string] ?? '';
    this.operstate = strings[string + 1] ?? '';
    this.mac = strings[string + 2] ?? '';
    this.linkType = strings[string + 3] ?? '';
    this.#addressString = string + 4;
    return this.#addressString + 3 * this.#numbers[at + 2]!;
  }

  stat(index: number): number {
    return this.#numbers[this.#at + 3 + index]!;
  }

  get addresses(): InterfaceAddress[] {
    const count = this.#numbers[this.#at + 2]!;
    const prefixes = this.#at + 3 + DEVICE_STATS;
    const strings = this.#strings;
    const addresses: InterfaceAddress[] = [];
    for (let i = 0; i < count; i += 1) {
      const first = this.#addressString + 3 * i;
      const family = (strings[first] ?? '') as InterfaceAddress['family'];
      addresses.push({ family, address: strings[first + 1] ?? '', prefixLength: this.#numbers[prefixes + i]!, scope: strings[first + 2] ?? '' });
    }
    return addresses;
  }
}

const NO_NUMBERS = new Float64Array(0);
const NO_TEXT = new DeviceText('');
/** The view PackedSample.eachDevice shows devices through when no call of it is under way. */
let spareView: PackedDevice | null = null;
