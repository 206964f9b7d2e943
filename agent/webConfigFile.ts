import { X509Certificate } from 'node:crypto';
import { createSecureContext, DEFAULT_CIPHERS, type SecureContextOptions } from 'node:tls';
import { parseWebConfig, type PemSource, type WebConfig, type WebTlsConfig } from '../shared/config/webConfig.js';
import { MAX_CONFIG_BYTES, readBoundedFile } from './config.js';
import type { Logger } from './log.js';
import { REAL_FILES, type FileAccess } from './targets/credentials.js';

/** What the listeners apply: the parsed file and its TLS files loaded. */
export interface WebSettings {
  config: WebConfig;
  tls: TlsSettings | null;
  /** Grows with every successful (re)load: a listener compares it to know its TLS is stale. */
  generation: number;
}

export interface TlsSettings {
  config: WebTlsConfig;
  context: SecureContextOptions;
  /** Ask for a client certificate; OpenSSL refuses a missing or unverified one when also `rejectUnauthorized`. */
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

/** The web config cannot be used: one `file: key: reason` line each. */
export class WebConfigError extends Error {
  override readonly name = 'WebConfigError';
  readonly code = 'EWEBCONFIG';
  constructor(readonly lines: string[]) {
    super(lines.join('; '));
  }
}

const NO_SECURITY: WebConfig = { tls: null, headers: {}, http2: true, users: {}, rateLimit: null };

/** TLS 1.3 suites are not configurable in the toolkit; naming them keeps TLS 1.3 on when cipher_suites narrows TLS 1.2. */
const TLS13_SUITES = DEFAULT_CIPHERS.split(':').filter((name) => name.startsWith('TLS_'));

/**
 * The web config file and the TLS files it names, read again when any of them changes (one stat
 * of each per request or connection, nothing read while nothing changed) and on SIGHUP. A new
 * file that cannot be used leaves the settings in force and is warned about once; the next change
 * is tried again.
 */
export class WebConfigSource {
  #file: string | null;
  #settings: WebSettings;
  #signatures = new Map<string, string>();
  #warned: string | null = null;

  /** Loads now: a bad file is a start-up error (WebConfigError). */
  constructor(file: string | null, private readonly logger: Logger, private readonly files: FileAccess = REAL_FILES) {
    this.#file = file;
    this.#settings = this.#load(0);
  }

  get file(): string | null {
    return this.#file;
  }

  /** The settings for this request or connection, re-read first when a file changed. */
  current(): WebSettings {
    if ([...this.#signatures].some(([file, signature]) => this.#signatureOf(file) !== signature)) this.#reload('changed');
    return this.#settings;
  }

  /** SIGHUP: read again whatever changed or not, from `file` when the agent config names another. */
  reload(file: string | null): void {
    const previous = this.#file;
    this.#file = file;
    if (!this.#reload('SIGHUP')) this.#file = previous;
  }

  #reload(why: string): boolean {
    try {
      this.#settings = this.#load(this.#settings.generation + 1);
      this.#warned = null;
      if (this.#file !== null) this.logger.info({ file: this.#file, trigger: why }, 'web config loaded');
      return true;
    } catch (error) {
      const text = error instanceof WebConfigError ? error.lines.join('; ') : (error as Error).message;
      if (this.#warned !== text) this.logger.warn({ file: this.#file, error: text }, 'web config refused; the settings in force stay');
      this.#warned = text;
      return false;
    }
  }

  #load(generation: number): WebSettings {
    const file = this.#file;
    if (file === null) {
      this.#signatures = new Map();
      return { config: NO_SECURITY, tls: null, generation };
    }
    // The signatures are taken before reading, so a write during the read is seen as a change next time.
    const signatures = new Map([[file, this.#signatureOf(file)]]);
    let text: string;
    try {
      text = readBoundedFile(file, MAX_CONFIG_BYTES, 'web config file');
    } catch (error) {
      throw new WebConfigError([`${file}: cannot read the web config file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
    }
    const parsed = parseWebConfig(text, file);
    if (!parsed.ok) throw new WebConfigError(parsed.errors);
    const { config } = parsed;
    if (config.tls !== null) {
      for (const source of [config.tls.cert, config.tls.key, config.tls.clientCa]) {
        if (source !== null && 'file' in source) signatures.set(source.file, this.#signatureOf(source.file));
      }
    }
    const tls = config.tls === null ? null : this.#tls(config.tls, file);
    this.#signatures = signatures;
    return { config, tls, generation };
  }

  #tls(config: WebTlsConfig, file: string): TlsSettings {
    const read = (source: PemSource, key: string): Buffer => {
      if ('inline' in source) return Buffer.from(source.inline);
      try {
        return this.files.readFile(source.file);
      } catch (error) {
        throw new WebConfigError([`${file}: tls_server_config.${key}: cannot read ${JSON.stringify(source.file)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
      }
    };
    const ca = config.clientCa === null ? undefined : read(config.clientCa, 'client_ca_file');
    const context: SecureContextOptions = {
      cert: read(config.cert, 'cert_file'),
      key: read(config.key, 'key_file'),
      ...(ca === undefined ? {} : { ca }),
      minVersion: config.minVersion,
      maxVersion: config.maxVersion,
      honorCipherOrder: config.preferServerCipherSuites,
      ...(config.ciphers === null ? {} : { ciphers: [...TLS13_SUITES, ...config.ciphers].join(':') }),
      ...(config.curves === null ? {} : { ecdhCurve: config.curves.join(':') }),
    };
    try {
      // Parsed now, so a bad PEM or a key that does not match its certificate fails here, not per connection.
      if (ca !== undefined) new X509Certificate(ca);
      createSecureContext(context);
    } catch (error) {
      throw new WebConfigError([`${file}: tls_server_config: the certificate, key or client CA is not usable: ${(error as Error).message}`]);
    }
    const verify = config.clientAuth === 'RequireAndVerifyClientCert';
    return { config, context, requestCert: config.clientAuth !== 'NoClientCert', rejectUnauthorized: verify };
  }

  #signatureOf(file: string): string {
    try {
      return this.files.signature(file);
    } catch (error) {
      return `error:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`;
    }
  }
}
