/** Output a parser cannot read (a reader reports it as reason "parse"). */
export class ParseError extends Error {
  readonly code = 'EPARSE';
}
