import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { SecretFileError, secretFromFileText } from '../../shared/config/secret.js';
import type { HttpClientConfig } from '../../shared/config/configTypes.js';

/**
 * The credentials of a push client that live in files (password_file, bearer_token_file, the TLS
 * files), read again when a file changes, as Prometheus does: an operator rotating a password or a
 * certificate writes the file and the next push uses it, with no restart and no reload. Checking is
 * one stat per file per request (inode, size, mtime), so nothing is read while nothing changed.
 */
export interface Credentials {
  /** The Authorization header, or {} without auth. */
  authHeader: Record<string, string>;
  tls: TlsFiles;
  /** Every form in which a secret could come back in a server's error text, longest first. */
  secrets: string[];
}

export interface TlsFiles {
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
}

export interface FileAccess {
  readFile: (file: string) => Buffer;
  /** A change signature of the file: differs whenever its content may have changed. */
  signature: (file: string) => string;
}

export const REAL_FILES: FileAccess = {
  readFile: (file) => readFileSync(file),
  signature: (file) => {
    const stat = statSync(file, { bigint: true });
    return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  },
};

/** The configuration cannot become a client (a TLS file missing or not PEM). */
export class HttpClientConfigError extends Error {
  override readonly name = 'HttpClientConfigError';
  readonly code = 'EHTTPCONFIG';
}

export class CredentialFiles {
  #signatures = new Map<string, string>();
  #current: Credentials;
  /** The last rotation that could not be used (a half-written file): reported once, the old credentials stay. */
  #rotationError: string | null = null;

  /** Reads everything now: a wrong path or a bad PEM is a start-up error naming the setting. */
  constructor(
    private readonly config: HttpClientConfig,
    private readonly at: string,
    private readonly files: FileAccess,
  ) {
    this.#current = this.#load();
  }

  /**
   * The credentials for the next request, re-read first when a file changed. When the new files
   * cannot be used (mid-write, deleted during a rotation) the previous credentials stay in use and
   * `rotationError` says why; the next call tries again.
   */
  current(): Credentials {
    if (!this.#changed()) return this.#current;
    try {
      this.#current = this.#load();
      this.#rotationError = null;
    } catch (error) {
      this.#rotationError = (error as Error).message;
    }
    return this.#current;
  }

  get rotationError(): string | null {
    return this.#rotationError;
  }

  #watched(): string[] {
    const { basicAuth, bearerToken, tls } = this.config;
    return [basicAuth?.password.file, bearerToken?.file, tls.caFile, tls.certFile, tls.keyFile]
      .filter((file): file is string => typeof file === 'string');
  }

  #changed(): boolean {
    return this.#watched().some((file) => this.#signatures.get(file) !== this.#signatureOf(file));
  }

  #signatureOf(file: string): string {
    try {
      return this.files.signature(file);
    } catch (error) {
      return `error:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`;
    }
  }

  #load(): Credentials {
    const signatures = new Map(this.#watched().map((file) => [file, this.#signatureOf(file)]));
    const { basicAuth, bearerToken } = this.config;
    const password = basicAuth === null ? null : this.#secret(basicAuth.password.file, basicAuth.password.reveal(), 'basic_auth.password_file');
    const token = bearerToken === null ? null : this.#secret(bearerToken.file, bearerToken.reveal(), 'bearer_token_file');
    const tls = this.#tls();
    this.#signatures = signatures;
    const texts: string[] = [];
    let authHeader: Record<string, string> = {};
    if (basicAuth !== null && password !== null) {
      const pair = Buffer.from(`${basicAuth.username}:${password}`).toString('base64');
      authHeader = { authorization: `Basic ${pair}` };
      texts.push(pair, password);
    } else if (token !== null) {
      authHeader = { authorization: `Bearer ${token}` };
      texts.push(token);
    }
    const proxyPassword = this.config.proxyUrl?.password;
    if (proxyPassword) texts.push(proxyPassword, decodeURIComponent(proxyPassword));
    // Longest first, so a secret holding another is removed whole; very short ones would scrub noise.
    const secrets = [...new Set(texts.filter((text) => text.length >= 4))].sort((a, b) => b.length - a.length);
    return { authHeader, tls, secrets };
  }

  /** The secret from its file when it has one (re-read), else the value the config holds. */
  #secret(file: string | null, value: string, key: string): string {
    if (file === null) return value;
    try {
      return secretFromFileText(this.#read(file, key).toString('utf8'));
    } catch (error) {
      if (!(error instanceof SecretFileError)) throw error;
      throw new HttpClientConfigError(`${this.at}.${key}: ${JSON.stringify(file)} ${error.message}`);
    }
  }

  #read(file: string, key: string): Buffer {
    try {
      return this.files.readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new HttpClientConfigError(`${this.at}.${key}: cannot read ${JSON.stringify(file)} (${code})`);
    }
  }

  /**
   * Every TLS file checked on its own, so the error names each bad one by its key: a second file
   * going bad while the first still is changes the error, and is warned about too.
   */
  #tls(): TlsFiles {
    const { tls } = this.config;
    const problems: string[] = [];
    const read = (file: string | null, key: string, check: (data: Buffer) => unknown): Buffer | undefined => {
      if (file === null) return undefined;
      let data: Buffer;
      try {
        data = this.#read(file, `tls_config.${key}`);
      } catch (error) {
        problems.push((error as Error).message);
        return undefined;
      }
      try {
        check(data);
        return data;
      } catch (error) {
        problems.push(`${this.at}.tls_config.${key}: ${JSON.stringify(file)} not usable: ${(error as Error).message}`);
        return undefined;
      }
    };
    // createSecureContext takes any bytes as a CA without complaint: a half-written one must not.
    const files = {
      ca: read(tls.caFile, 'ca_file', (data) => new X509Certificate(data)),
      cert: read(tls.certFile, 'cert_file', (data) => new X509Certificate(data)),
      key: read(tls.keyFile, 'key_file', (data) => createPrivateKey(data)),
    };
    if (problems.length === 0) {
      try {
        // A key that does not match its certificate fails here, not per connection.
        createSecureContext(files);
      } catch (error) {
        const names = [tls.caFile, tls.certFile, tls.keyFile].filter((file) => file !== null).map((file) => JSON.stringify(file));
        problems.push(`${this.at}.tls_config: ${names.join(', ')} not usable: ${(error as Error).message}`);
      }
    }
    if (problems.length > 0) throw new HttpClientConfigError(problems.join('; '));
    return files;
  }
}
