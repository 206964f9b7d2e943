import { readFileSync } from 'node:fs';
import { FILE_COLLECTORS } from '../../shared/collectors/collectorList.js';

/** Fixtures live in the source tree (test/fixtures), not in dist/. */
export function fixture(relativePath: string): string {
  return readFileSync(new URL(`../../../test/fixtures/${relativePath}`, import.meta.url), 'utf8');
}

export function fixturePath(relativePath: string): string {
  return new URL(`../../../test/fixtures/${relativePath}`, import.meta.url).pathname;
}

/** A /proc fixture tree (test/fixtures/proc/NAME) as a reader delivers it: missing files are null. */
export function procFixture(name: string, files: readonly string[]): Record<string, string | null> {
  return Object.fromEntries(files.map((file) => {
    try {
      return [file, fixture(`proc/${name}/${file}`)];
    } catch {
      return [file, null];
    }
  }));
}

/** Every file the file collectors read, relative to /proc, in their order. */
export const ALL_COLLECTOR_FILES = FILE_COLLECTORS.flatMap((collector) => collector.files).map((file) => file.procPath);
