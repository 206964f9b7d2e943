import { readFileSync } from 'node:fs';

/** Fixtures live in the source tree (test/fixtures), not in dist/. */
export function fixture(relativePath: string): string {
  return readFileSync(new URL(`../../../test/fixtures/${relativePath}`, import.meta.url), 'utf8');
}

export function fixturePath(relativePath: string): string {
  return new URL(`../../../test/fixtures/${relativePath}`, import.meta.url).pathname;
}
