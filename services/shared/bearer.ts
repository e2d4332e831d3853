/**
 * Finding the bearer token in a request, the way Cloud Run's front end does:
 * `X-Serverless-Authorization` wins over `Authorization`, which then stays free for the
 * application's own use.
 */
import type { IncomingHttpHeaders } from "node:http";
import { TOKEN_HEADERS, type TokenHeader } from "./tokenHeaders";

export type BearerCredential =
  | { kind: "missing" }
  | { kind: "malformed"; header: TokenHeader; reason: string }
  | { kind: "token"; header: TokenHeader; token: string };

/**
 * HTTP's own whitespace (RFC 9110: space and tab) and nothing else. A no-break space or any
 * other Unicode space is part of the value, so a header holding only one is present, and
 * malformed.
 */
const HTTP_WHITESPACE = /[ \t]+/;
const HTTP_WHITESPACE_AT_ENDS = /^[ \t]+|[ \t]+$/g;

function parse(header: TokenHeader, value: string): BearerCredential {
  const [scheme = "", ...rest] = value.split(HTTP_WHITESPACE);
  if (scheme.toLowerCase() !== "bearer") {
    return { kind: "malformed", header, reason: `${header} must use the Bearer scheme` };
  }
  const [token, ...extra] = rest;
  if (token === undefined) {
    return { kind: "malformed", header, reason: `${header} says Bearer but carries no token` };
  }
  if (extra.length > 0) {
    return { kind: "malformed", header, reason: `${header} must carry exactly one token` };
  }
  return { kind: "token", header, token };
}

/**
 * The credential a request presents. When `X-Serverless-Authorization` is present it is the
 * credential, even if malformed: falling back to `Authorization` would let a broken header
 * silently select a different identity.
 */
export function bearerFromHeaders(headers: IncomingHttpHeaders): BearerCredential {
  for (const header of TOKEN_HEADERS) {
    const credential = bearerFromHeader(headers, header);
    if (credential.kind !== "missing") return credential;
  }
  return { kind: "missing" };
}

/**
 * The credential in one header only. A header is present when it holds anything but HTTP
 * whitespace.
 */
export function bearerFromHeader(
  headers: IncomingHttpHeaders,
  header: TokenHeader,
): BearerCredential {
  const value = headers[header];
  if (typeof value !== "string") return { kind: "missing" };
  const trimmed = value.replace(HTTP_WHITESPACE_AT_ENDS, "");
  return trimmed === "" ? { kind: "missing" } : parse(header, trimmed);
}
