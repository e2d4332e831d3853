/**
 * E-mails that are not `allowed` but share a prefix or a suffix with it: contained in it, or
 * containing it. An allow-list matched by prefix, suffix or substring lets one of them through.
 */
export function emailNearMisses(allowed: string): Array<[string, string]> {
  return [
    ["contains an allowed e-mail as its suffix", `evil${allowed}`],
    ["contains an allowed e-mail as its prefix", `${allowed}.evil.example`],
    ["is a prefix of an allowed e-mail", allowed.slice(0, -1)],
    ["is a suffix of an allowed e-mail", allowed.slice(1)],
  ];
}
