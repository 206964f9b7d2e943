import { inspect } from 'node:util';

/**
 * A password or token. It prints as "<secret>" however it is logged, serialised or inspected,
 * so a config object can be logged whole without leaking; `reveal()` is the only way out.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '<secret>';
  }
  toJSON(): string {
    return '<secret>';
  }
  [inspect.custom](): string {
    return '<secret>';
  }
}
