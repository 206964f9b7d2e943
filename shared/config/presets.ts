import type { LabelsConfig } from './configTypes.js';

/**
 * Label presets reproducing the original exporter's two documented outputs:
 * `general` gives {netns, device}; `openstack` adds host, deviceIP and the Neutron object id taken
 * from the namespace name (`router` of qrouter-<uuid>, `network` of qdhcp-<uuid>).
 */
export const LABEL_PRESETS: Record<'general' | 'openstack', LabelsConfig> = {
  general: { hostname: null, deviceIp: null, fromNamespace: [] },
  openstack: {
    hostname: 'host',
    deviceIp: 'deviceIP',
    fromNamespace: [
      { label: 'router', regex: /^qrouter-(.+)$/u, replacement: '$1' },
      { label: 'network', regex: /^qdhcp-(.+)$/u, replacement: '$1' },
    ],
  },
};
