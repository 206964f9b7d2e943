/**
 * got's type checker (@sindresorhus/is) builds two Intl.ListFormat objects when its module loads,
 * for the wording of assertion errors the agent never makes. The first Intl object a process builds
 * loads ICU's locale data: 6 MB resident for the life of the agent (measured with got on Node 20).
 * Imported just before got, this module puts a stand-in constructor in place that builds the real
 * formatter on its first format(); httpClient.ts puts the real constructor back once got has
 * loaded, so nothing else ever sees the stand-in.
 */
const RealListFormat = Intl.ListFormat;

class DeferredListFormat {
  #real: Intl.ListFormat | null = null;
  readonly #args: ConstructorParameters<typeof Intl.ListFormat>;

  constructor(...args: ConstructorParameters<typeof Intl.ListFormat>) {
    this.#args = args;
  }

  #formatter(): Intl.ListFormat {
    return (this.#real ??= new RealListFormat(...this.#args));
  }

  format(list: Iterable<string>): string {
    return this.#formatter().format(list);
  }

  formatToParts(list: Iterable<string>): ReturnType<Intl.ListFormat['formatToParts']> {
    return this.#formatter().formatToParts(list);
  }

  resolvedOptions(): Intl.ResolvedListFormatOptions {
    return this.#formatter().resolvedOptions();
  }
}

(Intl as { ListFormat: unknown }).ListFormat = DeferredListFormat;

/** Puts the real Intl.ListFormat back (after got has loaded). */
export function restoreListFormat(): void {
  (Intl as { ListFormat: unknown }).ListFormat = RealListFormat;
}
