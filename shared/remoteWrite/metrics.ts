import type { MetricSpec } from '../metricSpec.js';

/** The remote_write target's own figures, rendered into the self-metrics each cycle. */
export const REMOTE_WRITE_METRICS = {
  samplesSent: {
    name: 'netns_exporter_remote_write_samples_sent_total', help: 'Samples the remote_write receiver acknowledged.', type: 'counter', labels: [],
  },
  samplesDropped: {
    name: 'netns_exporter_remote_write_samples_dropped_total',
    help: 'Samples never delivered, by reason: buffer_full (oldest dropped to make room), rejected (the receiver called them malformed: 400, 409, 415), too_large (a single series still refused with 413), disk_full (oldest buffer file removed on a full disk), corrupt (a buffer file whose body did not check out), deleted (buffer files removed by someone else, buffer.dir deleted while running included).',
    type: 'counter',
    labels: ['reason'],
  },
  bufferedSamples: {
    name: 'netns_exporter_remote_write_buffered_samples', help: 'Samples waiting in the remote_write buffer.', type: 'gauge', labels: [],
  },
  bufferedBytes: {
    name: 'netns_exporter_remote_write_buffered_bytes', help: 'Compressed size of the samples waiting in the remote_write buffer.', type: 'gauge', labels: [],
  },
  resentSamples: {
    name: 'netns_exporter_remote_write_resent_total',
    help: 'Samples sent again after a restart although the receiver had them (buffer.dir was read-only, so their files could not be removed once delivered); its 400 drops nothing.',
    type: 'counter',
    labels: [],
  },
  corruptFiles: {
    name: 'netns_exporter_remote_write_buffer_corrupt_files_total',
    help: 'Buffer files found unreadable and moved aside (renamed *.corrupt; the newest 5 are kept).',
    type: 'counter',
    labels: [],
  },
} as const satisfies Record<string, MetricSpec>;
