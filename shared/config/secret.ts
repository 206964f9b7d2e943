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

/** Why a secret file's text cannot be a secret; the text itself is never part of the message. */
export class SecretFileError extends Error {
  readonly code = 'SECRET_FILE';
}

/**
 * A secret file's text as the secret: one trailing line break is the editor's, not the password's.
 * A second line means the wrong file (say /etc/shadow): refused, never sent or shown. An empty file
 * is one created but not yet written (the install step makes it with `install -m 0600 /dev/null`),
 * or caught mid-write: refused, so a push never goes out with an empty password. The push client
 * applies the same rules when it reads a rotated file again, and keeps the previous secret.
 */
export function secretFromFileText(text: string): string {
  const secret = text.replace(/\r?\n$/, '');
  if (/[\r\n]/.test(secret)) throw new SecretFileError('holds more than one line; a secret file holds the secret alone');
  if (secret === '') throw new SecretFileError('is empty: write the secret into it');
  return secret;
}
