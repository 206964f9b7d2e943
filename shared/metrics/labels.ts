import { byCodeUnits } from '../compare.js';
import type { LabelsConfig } from '../config/configTypes.js';
import type { InterfaceAddress } from '../snapshot.js';

/** What device labels are made from: a device (or the view a packed sample shows it through). */
interface LabelledDevice {
  readonly name: string;
  readonly addresses: readonly InterfaceAddress[];
}

export type LabelSet = Record<string, string>;

/** Labels every series of a namespace carries: netns, optionally the host, and from_namespace rules. */
export function namespaceLabels(namespace: string, labels: LabelsConfig, hostname: string): LabelSet {
  const set: LabelSet = { netns: namespace };
  if (labels.hostname !== null) set[labels.hostname] = hostname;
  for (const rule of labels.fromNamespace) {
    const match = rule.regex.exec(namespace);
    if (match !== null) set[rule.label] = match[0].replace(rule.regex, rule.replacement);
  }
  return set;
}

/** Labels of a device's series: the namespace's, the device, and optionally its address. */
export function deviceLabels(base: LabelSet, device: LabelledDevice, labels: LabelsConfig): LabelSet {
  const set: LabelSet = { ...base, device: device.name };
  if (labels.deviceIp !== null) set[labels.deviceIp] = primaryAddress(device);
  return set;
}

/**
 * The address an operator means by "the device's IP": the first global IPv4, else any IPv4, else the
 * first global IPv6; "" when there is none (as in the original's output).
 */
export function primaryAddress(device: LabelledDevice): string {
  // One pass, no arrays: asked for every device every cycle.
  let anyV4: string | null = null;
  let globalV6: string | null = null;
  for (const address of device.addresses) {
    if (address.family === 'inet') {
      if (address.scope === 'global') return address.address;
      anyV4 ??= address.address;
    } else if (address.family === 'inet6' && address.scope === 'global') {
      globalV6 ??= address.address;
    }
  }
  return anyV4 ?? globalV6 ?? '';
}

/** Every label name a namespace-level (or, with device labels, a device-level) metric may carry. */
export function configuredLabelNames(labels: LabelsConfig, perDevice: boolean): string[] {
  const names = ['netns', ...labels.fromNamespace.map((rule) => rule.label)];
  if (labels.hostname !== null) names.push(labels.hostname);
  if (perDevice) {
    names.push('device');
    if (labels.deviceIp !== null) names.push(labels.deviceIp);
  }
  return [...new Set(names)];
}

/** Label objects with sorted keys, so the exposition lists them as the original (Go) did. */
export function sorted(set: LabelSet): LabelSet {
  return Object.fromEntries(Object.entries(set).sort(([a], [b]) => byCodeUnits(a, b)));
}
