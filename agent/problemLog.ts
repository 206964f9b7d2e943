import type { Logger } from './log.js';

/**
 * The same key while a problem lasts: its text with each figure (`287`, `1,000`, `0.5`, an IPv4
 * address) blanked to `#`, since a figure may change every cycle while the problem stays the same.
 */
export function problemKey(text: string): string {
  return text.replace(/\d+(?:[.,]\d+)*/g, '#');
}

/**
 * Warns once per distinct problem, not once per cycle: each cycle hands over every problem it has
 * (keyed by what stays the same while it lasts, not by a text with a count in it); new ones are
 * warned about, ones gone since are logged once as resolved and may warn again if they return.
 */
export class ProblemLog {
  readonly #logger: Logger;
  readonly #what: string;
  readonly #active = new Set<string>();

  constructor(logger: Logger, what: string) {
    this.#logger = logger;
    this.#what = what;
  }

  update(problems: readonly { key: string; message: string }[]): void {
    const current = new Set<string>();
    for (const { key, message } of problems) {
      current.add(key);
      if (!this.#active.has(key)) this.#logger.warn({ problem: message }, this.#what);
    }
    for (const key of this.#active) {
      if (!current.has(key)) this.#logger.info({ problem: key }, `${this.#what}: resolved`);
    }
    this.#active.clear();
    for (const key of current) this.#active.add(key);
  }
}
