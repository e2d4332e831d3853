/**
 * Text rules the services apply to values that come from outside: e-mails compared as
 * identities, and text placed in a response header.
 */

/**
 * Lower-cases A–Z only. `String.prototype.toLowerCase` also folds non-ASCII letters (U+212A
 * KELVIN SIGN becomes "k"), which would let a look-alike address equal an allowed one.
 * Service-account e-mails are ASCII, so anything else simply never matches.
 */
export function asciiLowerCase(text: string): string {
  return text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/**
 * The text with every character that a header value may not hold (controls, DEL and
 * anything beyond ASCII) replaced by "?", so setting it can never throw. Node refuses such
 * characters in `setHeader`; the header is only ever a human-readable reason.
 */
export function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e\t]/g, "?");
}
