/**
 * A stand-in for Cloud Run's authenticating front end, placed before a private service:
 *
 * - the credential comes from `X-Serverless-Authorization`, else `Authorization`;
 * - no credential → 403; a token that cannot be verified, has expired or names another
 *   audience → 401; a verified caller who is not an invoker → 403;
 * - otherwise the request is forwarded with the token's signature replaced by
 *   `SIGNATURE_REMOVED_BY_GOOGLE`. When both headers came, `Authorization` passes through
 *   untouched and unverified, as on Cloud Run;
 * - requests go to the one service behind it and nowhere else: the request line contributes
 *   its path and query only, never a scheme, host or port;
 * - hop-by-hop headers, and any header `Connection` names, are dropped in both directions; a
 *   body is forwarded framed as it came (chunked stays chunked), so the service never reads
 *   a body as further requests the front end did not check;
 * - with the invoker check off (Cloud Run's `invokerIamDisabled`) everything is forwarded
 *   untouched, credentials included.
 *
 * The accepted audiences are the front end's own URL (as Cloud Run accepts the service URL)
 * plus any custom audiences, compared exactly. Verification uses the same code as the target's
 * `verify` mode, and invokers are matched by exact e-mail.
 * Real Cloud Run does not say why it refused; the stand-in adds the reason to its answer, in a
 * header and in the text, because it exists to teach: whoever sent the request (the banner's
 * `curl -i` commands) reads why right there.
 */
import http from "node:http";
import type net from "node:net";
import type { NextFunction, Request, Response } from "express";
import { hardenedExpress } from "../services/shared/httpApp";
import { bearerFromHeaders } from "../services/shared/bearer";
import {
  DEFAULT_CLOCK_SKEW_SECONDS,
  GOOGLE_ISSUERS,
  REMOVED_SIGNATURE,
  TokenError,
} from "../services/target-service/verification/idToken";
import {
  IDLE_CONNECTION_TIMEOUT_MS,
  listen,
  type RunningServer,
} from "../services/shared/lifecycle";
import { asciiLowerCase, headerSafe } from "../services/shared/text";
import type { Ingress } from "../services/wiring";
import {
  KeysUnavailableError,
  remoteKeySet,
} from "../services/target-service/verification/remoteKeySet";
import { cachingVerifier } from "../services/target-service/verification/verifiedTokens";

export interface FrontEndOptions {
  /** Base URL of the private service behind the front end. */
  upstream: string;
  /** Where the issuer publishes its keys (the metadata stand-in's JWKS). */
  jwksUrl: string;
  /**
   * E-mails holding roles/run.invoker on the service; or, for grants that come and go while
   * the front end runs (the local Cloud Run reads them from the stack's state), a function
   * asked at each request for the grants and the moment each reaches the front end.
   */
  invokers: readonly string[] | (() => readonly Grant[]);
  /** Audiences accepted besides the front end's own URL: the service's other URLs, custom ones. */
  audiences?: readonly string[];
  /**
   * The invoker check turned off, as Cloud Run's `invokerIamDisabled` (or
   * `--allow-unauthenticated`) turns it off: every request is forwarded unchecked and
   * untouched. Tests use it to show what the target refuses on its own; the benchmark's
   * unauthenticated baseline uses it too.
   */
  invokerIamDisabled?: boolean;
  /** Tolerance for clocks that disagree; 30 s unless a test needs it strict. */
  clockSkewSeconds?: number;
  /**
   * Seconds after the front end starts before the invokers' grant takes effect: a new IAM
   * grant takes a while to reach every Cloud Run front end, and until it has, its member is
   * refused with 403 like anyone else. 0 (in effect at once) unless given.
   */
  grantDelaySeconds?: number;
  /**
   * `internal` models internal-only ingress: `url` (the way in from outside the VPC) answers
   * 404 to every request, before any IAM check, and `internal.url` is the way in through the
   * VPC, where the usual checks apply. `all` (the default) has `url` only.
   */
  ingress?: Ingress;
  /**
   * With internal ingress, whether a request on `url` comes from inside the VPC after all (the
   * local Cloud Run asks which process made the connection); without it, only `internal.url`
   * is inside.
   */
  fromVpc?: (socket: net.Socket) => boolean;
  port?: number;
}

/** A roles/run.invoker grant as the front end sees it. */
export interface Grant {
  /** An e-mail, or `allUsers`. */
  member: string;
  /** When the grant has reached this front end (IAM propagation), in ms since the epoch. */
  inEffectAt: number;
}

export interface FrontEndStats {
  forwarded: number;
  refused: number;
}

export interface FrontEnd {
  server: RunningServer;
  /** The private service's URL as callers see it; also its default audience. */
  url: string;
  /** With internal ingress, the URL that stands for calls through the VPC. */
  internal?: { server: RunningServer; url: string };
  stats: FrontEndStats;
}

/** Headers that describe one connection, not the message (RFC 9110, section 7.6.1). */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

/** The headers with every hop-by-hop header removed, including those `Connection` names. */
function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const named = String(headers.connection ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase());
  const kept: http.OutgoingHttpHeaders = { ...headers };
  for (const name of [...HOP_BY_HOP, ...named]) delete kept[name];
  return kept;
}

/**
 * The headers to forward a request with. Transfer-Encoding is hop-by-hop, but a body that came
 * chunked must leave framed: without the header, Node sends the body of a GET, HEAD, DELETE or
 * OPTIONS as raw bytes after the head, and the service reads them as requests of their own.
 * Node re-chunks what is piped when the header says chunked.
 */
function forwardedRequestHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const kept = endToEnd(headers);
  if (headers["transfer-encoding"] !== undefined) kept["transfer-encoding"] = "chunked";
  return kept;
}

/**
 * The path and query of a request target. Origin-form ("/p?q") is used as it is, and that
 * includes "//host/p", which is a path here, not an authority. Absolute-form
 * ("http://host:port/p?q") gives its path and query only. Anything else is no request for the
 * service.
 */
function pathAndQuery(target: string): string | undefined {
  if (target.startsWith("/")) return target;
  try {
    const { protocol, pathname, search } = new URL(target);
    return protocol === "http:" || protocol === "https:" ? `${pathname}${search}` : undefined;
  } catch {
    return undefined;
  }
}

/** The token as Cloud Run hands it to the container: readable, but no longer verifiable. */
function withoutSignature(token: string): string {
  return `${token.slice(0, token.lastIndexOf("."))}.${REMOVED_SIGNATURE}`;
}

function refuse(res: Response, status: 401 | 403 | 503, reason: string): void {
  if (status === 401) {
    res.set(
      "WWW-Authenticate",
      'Bearer error="invalid_token" error_description="The access token could not be verified"',
    );
  }
  // The reason may quote an e-mail from a token, which can hold anything.
  res.set("X-Local-Front-End-Reason", headerSafe(reason));
  const title = { 401: "Unauthorized", 403: "Forbidden", 503: "Service Unavailable" }[status];
  res
    .status(status)
    .type("text/plain")
    .send(
      `Error: ${title}\nYour client does not have permission to get this URL.\n(local front end: ${reason})\n`,
    );
}

export async function startFrontEnd(options: FrontEndOptions): Promise<FrontEnd> {
  const upstream = new URL(options.upstream);
  const audiences: string[] = [];
  const verify = cachingVerifier({
    keys: remoteKeySet({ url: options.jwksUrl }),
    audiences,
    issuers: GOOGLE_ISSUERS,
    clockSkewSeconds: options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
  });
  const startedAt = Date.now();
  const grants: () => readonly Grant[] =
    typeof options.invokers === "function"
      ? options.invokers
      : (
          (fixed) => () =>
            fixed
        )(
          options.invokers.map((member) => ({
            member,
            inEffectAt: startedAt + (options.grantDelaySeconds ?? 0) * 1000,
          })),
        );
  const agent = new http.Agent({ keepAlive: true, timeout: IDLE_CONNECTION_TIMEOUT_MS });
  const stats: FrontEndStats = { forwarded: 0, refused: 0 };
  // The ports that stand for the VPC; with internal ingress, requests on any other are refused.
  const vpcPorts = new Set<number>();

  const forward = (
    req: Request,
    res: Response,
    path: string,
    credential?: { header: string; value: string },
  ): void => {
    const headers = forwardedRequestHeaders(req.headers);
    if (credential) headers[credential.header] = credential.value;
    headers["x-forwarded-for"] = req.socket.remoteAddress ?? "";
    headers["x-forwarded-proto"] = "http";
    stats.forwarded += 1;
    const outgoing = http.request(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        path,
        method: req.method,
        headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        answer.pipe(res);
      },
    );
    outgoing.on("error", () => {
      if (!res.headersSent) refuse(res, 503, "the service behind the front end is not answering");
      else res.destroy();
    });
    req.pipe(outgoing);
  };

  const app = hardenedExpress();
  app.use(async (req, res) => {
    const path = pathAndQuery(req.originalUrl);
    if (path === undefined) {
      res
        .status(400)
        .type("text/plain")
        .send("Error: Bad Request\nThe request target is not a path.\n");
      return;
    }
    if (
      options.ingress === "internal" &&
      !vpcPorts.has(req.socket.localPort ?? 0) &&
      options.fromVpc?.(req.socket) !== true
    ) {
      stats.refused += 1;
      res
        .status(404)
        .type("text/plain")
        .send(
          "Error: Page not found\nThe requested URL was not found on this server.\n(local front end: internal ingress, and this request came from outside the VPC)\n",
        );
      return;
    }
    const current = grants();
    // allUsers holding the role opens the service to everyone, as invokerIamDisabled does.
    if (options.invokerIamDisabled || current.some((grant) => grant.member === "allUsers")) {
      return forward(req, res, path);
    }
    const credential = bearerFromHeaders(req.headers);
    const deny = (status: 401 | 403 | 503, reason: string) => {
      stats.refused += 1;
      refuse(res, status, reason);
    };
    if (credential.kind === "missing") return deny(403, "no credential");
    if (credential.kind === "malformed") return deny(401, credential.reason);

    let email: string;
    try {
      ({ email } = await verify(credential.token));
    } catch (error) {
      if (error instanceof TokenError) return deny(401, error.message);
      if (error instanceof KeysUnavailableError) return deny(503, "signing keys are unavailable");
      throw error;
    }
    const grant = current.find((held) => asciiLowerCase(held.member) === email);
    if (grant === undefined) return deny(403, `${email} does not hold roles/run.invoker`);
    if (Date.now() < grant.inEffectAt) {
      return deny(403, `the grant to ${email} has not reached this front end yet`);
    }

    forward(req, res, path, {
      header: credential.header,
      value: `Bearer ${withoutSignature(credential.token)}`,
    });
  });

  // Anything unexpected gets a plain 500 without internals, whatever NODE_ENV says; Express's
  // own handler would answer with the stack trace.
  app.use((_error: Error, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) res.destroy();
    else res.status(500).type("text/plain").send("Error: Internal Server Error\n");
  });

  const server = await listen(app, options.port ?? 0, "127.0.0.1");
  const url = `http://127.0.0.1:${server.port}`;
  let internal: FrontEnd["internal"];
  if (options.ingress === "internal") {
    const internalServer = await listen(app, 0, "127.0.0.1");
    vpcPorts.add(internalServer.port);
    internal = { server: internalServer, url: `http://127.0.0.1:${internalServer.port}` };
  }
  // Cloud Run accepts its service URL, with or without a trailing slash, under any host name
  // it is reached by; here that is loopback by address or by name.
  audiences.push(
    url,
    `${url}/`,
    `http://localhost:${server.port}`,
    `http://localhost:${server.port}/`,
    ...(options.audiences ?? []),
  );
  return { server, url, stats, ...(internal && { internal }) };
}
