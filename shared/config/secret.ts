import { inspect } from 'node:util';

/**
 * A password or token. It prints as "<secret>" however it is logged, serialised or inspected,
 * so a config object can be logged whole without leaking; `reveal()` is the only way out.
 * `file` names where it was read from (`password_file`, `bearer_token_file`): the push client reads
 * that file again when it changes, so a rotated credential needs no restart (as in Prometheus).
 */
export class Secret {
  readonly #value: string;
  constructor(value: string, readonly file: string | null = null) {
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

/** A secret file's text as the secret: one trailing line break is the editor's, not the password's. */
export function secretFromFileText(text: string): string {
  return text.replace(/\r?\n$/, '');
}
