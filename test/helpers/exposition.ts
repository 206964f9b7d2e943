/** A small reader of the Prometheus text format, for assertions on what the agent printed or pushed. */
export interface ExposedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): ExposedSample[] {
  const samples: ExposedSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    if (brace < 0 || brace > space) {
      samples.push({ name: line.slice(0, space), labels: {}, value: Number(line.slice(space + 1)) });
      continue;
    }
    const close = line.lastIndexOf('}');
    samples.push({ name: line.slice(0, brace), labels: parseLabels(line.slice(brace + 1, close)), value: Number(line.slice(close + 2).split(' ')[0]) });
  }
  return samples;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let index = 0;
  while (index < text.length) {
    const equals = text.indexOf('=', index);
    const name = text.slice(index, equals);
    let value = '';
    let cursor = equals + 2;
    for (; text[cursor] !== '"'; cursor += 1) {
      if (text[cursor] === '\\') {
        cursor += 1;
        value += text[cursor] === 'n' ? '\n' : text[cursor];
      } else {
        value += text[cursor];
      }
    }
    labels[name] = value;
    index = cursor + 2;
  }
  return labels;
}

export function find(samples: ExposedSample[], name: string, labels: Record<string, string>): ExposedSample[] {
  return samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
}
