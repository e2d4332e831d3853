/**
 * A stand-in for the metadata server a Cloud Run instance talks to, faithful where
 * google-auth-library and the services touch it:
 *
 * - every `/computeMetadata` request must carry `Metadata-Flavor: Google` (403 otherwise) and
 *   must not carry `X-Forwarded-For` (403: the real server refuses proxied requests, which is
 *   what stops SSRF from reaching it); every answer carries `Metadata-Flavor: Google`;
 * - the detection ping, project id, service-account e-mail, a clearly fake access token, and
 *   ID tokens for any audience, signed by the shared TokenIssuer;
 * - the issuer's public keys, as Google publishes them on googleapis.com (no header needed).
 *
 * One stand-in answers for one identity, as each Cloud Run service has its own.
 * It logs nothing, so no token it issues can reach a log.
 */
import express, { type Express, type Response } from "express";
import { hardenedExpress } from "../services/shared/httpApp";
import { listen, type RunningServer } from "../services/shared/lifecycle";
import type { TokenFormat, TokenIssuer } from "./tokenIssuer";

export interface MetadataServerOptions {
  projectId: string;
  /** The service account this stand-in answers for. */
  email: string;
  issuer: TokenIssuer;
}

/** What the stand-in has done; read by tests and the benchmark. */
export interface MetadataStats {
  identityTokensIssued: number;
}

/** Failures a test or benchmark can inject, to watch the client recover. */
export interface MetadataFaults {
  /** The next `count` identity requests answer `status` instead of a token. */
  failIdentityRequests(count: number, status?: number): void;
  /** The next `count` identity requests answer 200 with `body` instead of a fresh token. */
  answerIdentityRequests(count: number, body: string): void;
  /** Identity requests get fresh tokens again. */
  clear(): void;
}

export interface MetadataServer {
  app: Express;
  stats: MetadataStats;
  faults: MetadataFaults;
}

/** Obviously not a credential, so nobody mistakes it for one. */
export const FAKE_ACCESS_TOKEN = "local-fake-access-token-not-valid-for-google-apis";

/** How long clients may cache the published keys, as Google's own certificate endpoints allow. */
const KEYS_MAX_AGE_SECONDS = 300;

function sendText(res: Response, status: number, text: string): void {
  res.status(status).type("application/text").send(text);
}

export function createMetadataServer(options: MetadataServerOptions): MetadataServer {
  const { projectId, email, issuer } = options;
  const stats: MetadataStats = { identityTokensIssued: 0 };
  let injected = { remaining: 0, status: 503, body: "" };
  const faults: MetadataFaults = {
    failIdentityRequests: (count, status = 503) => {
      injected = { remaining: count, status, body: "injected failure\n" };
    },
    answerIdentityRequests: (count, body) => {
      injected = { remaining: count, status: 200, body };
    },
    clear: () => {
      injected.remaining = 0;
    },
  };
  const app = hardenedExpress();

  app.use((_req, res, next) => {
    res.set("Metadata-Flavor", "Google");
    res.set("Server", "Metadata Server for Serverless (local stand-in)");
    next();
  });

  const publishKeys =
    (body: () => Promise<object>) => async (_req: express.Request, res: Response) => {
      res.set("Cache-Control", `public, max-age=${KEYS_MAX_AGE_SECONDS}`).json(await body());
    };
  app.get(
    "/oauth2/v3/certs",
    publishKeys(() => issuer.jwks()),
  );
  app.get(
    "/oauth2/v1/certs",
    publishKeys(() => issuer.pemCerts()),
  );

  app.use("/computeMetadata", (req, res, next) => {
    if (req.get("x-forwarded-for") !== undefined) {
      sendText(
        res,
        403,
        "Forbidden: the metadata server does not accept requests with X-Forwarded-For.\n",
      );
      return;
    }
    if (req.get("metadata-flavor") !== "Google") {
      sendText(res, 403, "Forbidden: missing Metadata-Flavor:Google header.\n");
      return;
    }
    next();
  });

  const v1 = express.Router();
  v1.get(["/", "/instance", "/instance/"], (_req, res) => {
    sendText(res, 200, "attributes/\nid\nregion\nservice-accounts/\nzone\n");
  });
  v1.get("/project/project-id", (_req, res) => sendText(res, 200, projectId));
  v1.get("/instance/region", (_req, res) =>
    sendText(res, 200, `projects/${projectId}/regions/local`),
  );

  // google-auth-library asks for "default"; callers may also name the account itself.
  const account = express.Router({ mergeParams: true });
  v1.use(
    "/instance/service-accounts/:account",
    (req, res, next) => {
      const name = (req.params as { account: string }).account;
      if (name !== "default" && name !== email) {
        sendText(res, 404, `No such service account: ${name.slice(0, 100)}\n`);
        return;
      }
      next();
    },
    account,
  );

  account.get("/", (_req, res) => sendText(res, 200, "aliases\nemail\nidentity\nscopes\ntoken\n"));
  account.get("/email", (_req, res) => sendText(res, 200, email));
  account.get("/scopes", (_req, res) =>
    sendText(res, 200, "https://www.googleapis.com/auth/cloud-platform\n"),
  );
  account.get("/token", (_req, res) => {
    res.json({ access_token: FAKE_ACCESS_TOKEN, expires_in: 3599, token_type: "Bearer" });
  });
  account.get("/identity", async (req, res) => {
    const { audience, format = "standard" } = req.query;
    if (typeof audience !== "string" || audience === "") {
      sendText(res, 400, "non-empty audience parameter required\n");
      return;
    }
    if (format !== "standard" && format !== "full") {
      sendText(res, 400, "format must be standard or full\n");
      return;
    }
    if (injected.remaining > 0) {
      injected.remaining -= 1;
      sendText(res, injected.status, injected.body);
      return;
    }
    stats.identityTokensIssued += 1;
    sendText(res, 200, await issuer.issue({ email, audience, format: format as TokenFormat }));
  });

  app.use("/computeMetadata/v1", v1);
  app.use((req, res) => sendText(res, 404, `Not found: ${req.path.slice(0, 100)}\n`));
  return { app, stats, faults };
}

/** A stand-in listening on loopback, with what its users need to reach and control it. */
export interface RunningMetadataServer {
  stats: MetadataStats;
  faults: MetadataFaults;
  /** host:port, as GCE_METADATA_HOST wants it. */
  host: string;
  url: string;
  /** Where it publishes its issuer's keys as a JWKS. */
  jwksUrl: string;
  /** Takes the stand-in off the network, to watch a service cope without it. */
  stop(): Promise<void>;
  /** Brings it back on the same port. */
  start(): Promise<void>;
}

/** Starts a stand-in on a free loopback port; stop and start again keep that port. */
export async function startMetadataServer(
  options: MetadataServerOptions,
): Promise<RunningMetadataServer> {
  const { app, stats, faults } = createMetadataServer(options);
  let server: RunningServer | undefined = await listen(app, 0, "127.0.0.1");
  const { port, url } = server;
  return {
    stats,
    faults,
    host: `127.0.0.1:${port}`,
    url,
    jwksUrl: `${url}/oauth2/v3/certs`,
    stop: async () => {
      await server?.drain(1000);
      server = undefined;
    },
    start: async () => {
      server ??= await listen(app, port, "127.0.0.1");
    },
  };
}
