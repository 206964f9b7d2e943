/** `text` as one bash word, whatever it holds: single quotes, each `'` in it closed, escaped and reopened. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
