/** A seeded generator (mulberry32): every fuzz run is the same run, so a failure reproduces. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** Flips, inserts, deletes, repeats or truncates a few spans of `text`, biased to `alphabet`. */
export function mutate(random: () => number, text: string, alphabet: readonly string[]): string {
  let out = text;
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits; i += 1) {
    const at = Math.floor(random() * (out.length + 1));
    const span = Math.floor(random() * 16);
    switch (Math.floor(random() * 5)) {
      case 0: out = out.slice(0, at) + pick(random, alphabet) + out.slice(at); break;
      case 1: out = out.slice(0, at) + out.slice(at + span); break;
      case 2: out = out.slice(0, at) + out.slice(at, at + span).repeat(2 + Math.floor(random() * 4)) + out.slice(at); break;
      case 3: out = out.slice(0, at); break;
      default: out = out.slice(0, at) + String.fromCharCode(Math.floor(random() * 256)) + out.slice(at + 1);
    }
  }
  return out;
}
