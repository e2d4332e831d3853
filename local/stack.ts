/**
 * The whole product on loopback, wired as the Pulumi program wires it: the target behind a
 * stand-in for Cloud Run's front end that admits only the client's account, and the client
 * calling the target's URL with an ID token for that URL. Each service has its own
 * metadata-server stand-in, answering for its own service account, and runs as its own process
 * from the bundle its container image ships. `npm start` runs this; the end-to-end tests start
 * exactly the same thing.
 *
 * The account e-mails and each service's environment come from the builders index.ts uses
 * (services/wiring.ts), so the two stacks cannot drift apart.
 */
import {
  clientEnvironment,
  type Ingress,
  serviceAccounts,
  TARGET_AUTH_MODES,
  TOKEN_HEADERS,
  type TargetAuthMode,
  targetEnvironment,
} from "../services/wiring";
import { GOOGLE_ISSUERS } from "../services/target-service/verification/idToken";
import { type FrontEnd, startFrontEnd } from "./frontEnd";
import {
  freePort,
  type LaunchedService,
  type Launcher,
  probePort,
  processLauncher,
} from "./launcher";
import { type RunningMetadataServer, startMetadataServer } from "./metadataServer";
import { type PortHolder, portHolders } from "./portHolders";
import { projectDefault } from "./projectFile";
import { TokenIssuer } from "./tokenIssuer";

export const LOCAL_PROJECT = "local-project";
/** The stack's default name prefix, so local accounts are named as deployed ones. */
const LOCAL_NAME_PREFIX = projectDefault("namePrefix");

export interface LocalStackOptions {
  /** The client's port; the target's front end takes the next one. 0 picks free ports. */
  basePort?: number;
  launch?: Launcher;
  issuer?: TokenIssuer;
  /** Extra environment per service, e.g. `{ client: { TARGET_TIMEOUT_MS: "500" } }`. */
  env?: { target?: Record<string, string>; client?: Record<string, string> };
  /** How the target checks callers; the stack's default (Pulumi.yaml) unless given. */
  targetAuthMode?: TargetAuthMode;
  /**
   * The target's front end with its invoker check off, forwarding everything untouched, as
   * Cloud Run does with `invokerIamDisabled`.
   */
  invokerIamDisabled?: boolean;
  /** The front end's tolerance for disagreeing clocks; 30 s unless a test needs it strict. */
  frontEndClockSkewSeconds?: number;
  /** Seconds before the client's grant takes effect at the target's front end (IAM propagation). */
  grantDelaySeconds?: number;
  /** `internal`: the target is reachable only "through the VPC", which the client uses. */
  targetIngress?: Ingress;
}

export interface LocalService {
  name: "target" | "client";
  /** The service account the service runs as. */
  email: string;
  /** The URL callers use: the front end's for the target. */
  url: string;
  /** The environment the service runs with: what the stack sets, plus the local plumbing. */
  env: Record<string, string>;
  /** The running process; replaced when the service is started again. */
  process: LaunchedService;
  /** The service's own metadata-server stand-in. */
  metadata: RunningMetadataServer;
  /** Stops the service's process (SIGTERM), leaving its front end and stand-in up. */
  stop(): Promise<void>;
  /** Starts the service again on the port it had, with the same environment. */
  start(): Promise<void>;
}

export interface LocalTarget extends LocalService {
  /** The Cloud Run front-end stand-in before the target. */
  frontEnd: FrontEnd;
  /** The e-mails holding roles/run.invoker on the target: the client's, as in the stack. */
  invokers: string[];
}

export interface LocalStack {
  projectId: string;
  issuer: TokenIssuer;
  services: { target: LocalTarget; client: LocalService };
  /** Stops every process and server the stack started. */
  stop(): Promise<void>;
}

/**
 * Why `basePort` cannot be the client's port, if it cannot: the target's front end takes the
 * next one, which must exist too.
 */
export function basePortProblem(basePort: number): string | undefined {
  if (basePort !== 0 && basePort + 1 > 65535) {
    return (
      `the target's front end takes the next port, ${basePort + 1}, which does not exist: ` +
      "choose a port up to 65534"
    );
  }
  return undefined;
}

/**
 * What to tell the user when `port` is taken: the processes holding it and how to stop exactly
 * those, or that what holds it is unknown. Never a pattern of processes to end, which could
 * take down a healthy stack of the same checkout on other ports.
 */
export function portInUseMessage(port: number, holders: readonly PortHolder[]): string {
  const otherPorts = "choose other ports with --port <first port>";
  if (holders.length === 0) {
    return (
      `port ${port} is already in use; what holds it is unknown ` +
      `(another user's process, or this is not Linux); ${otherPorts}`
    );
  }
  const listed = holders.map(({ pid, name }) => `${name} (pid ${pid})`).join(", ");
  const pids = holders.map(({ pid }) => pid).join(" ");
  const them = holders.length === 1 ? "it" : "them";
  return `port ${port} is already in use by ${listed}; stop ${them} with \`kill ${pids}\` or ${otherPorts}`;
}

/** Fails with a clear message before anything starts if a chosen port is taken. */
async function assertPortFree(port: number): Promise<void> {
  if (port === 0) return;
  await probePort(port).catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      error.code === "EADDRINUSE"
        ? portInUseMessage(port, portHolders(port))
        : `port ${port} cannot be used: ${error.message}`,
    );
  });
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const projectId = LOCAL_PROJECT;
  const launch = options.launch ?? processLauncher();
  const issuer = options.issuer ?? new TokenIssuer();
  const accounts = serviceAccounts(LOCAL_NAME_PREFIX, projectId);
  const targetEmail = accounts.target.email;
  const clientEmail = accounts.client.email;
  const basePort = options.basePort ?? 8080;
  const problem = basePortProblem(basePort);
  if (problem !== undefined) throw new Error(`basePort ${basePort}: ${problem}`);
  const clientPort = basePort;
  await assertPortFree(clientPort);
  if (basePort !== 0) await assertPortFree(basePort + 1);
  // The front end's port is chosen first: its URL is the target's audience, which the target
  // must know when it starts.
  const frontEndPort = basePort === 0 ? await freePort() : basePort + 1;
  const targetUrl = `http://127.0.0.1:${frontEndPort}`;
  const targetAuthMode =
    options.targetAuthMode ?? projectDefault("targetAuthMode", TARGET_AUTH_MODES);

  const stoppers: Array<() => Promise<void>> = [];
  const stop = async () => {
    // Last started first: the client stops before the target it calls.
    for (const stopOne of stoppers.splice(0).reverse()) await stopOne();
  };

  /** A service process with its own metadata stand-in, as a Cloud Run instance has. */
  async function startService(
    name: LocalService["name"],
    email: string,
    port: number,
    stackEnv: Record<string, string>,
  ): Promise<Omit<LocalService, "url">> {
    const metadata = await startMetadataServer({
      projectId,
      email,
      issuer,
    });
    stoppers.push(() => metadata.stop());
    const env = {
      ...stackEnv,
      PORT: String(port),
      HOST: "127.0.0.1",
      GCE_METADATA_HOST: metadata.host,
      // A verifying target checks signatures against the stand-in's keys instead of Google's.
      ...(stackEnv.AUTH_MODE === "verify" && {
        JWKS_URL: metadata.jwksUrl,
        TOKEN_ISSUER: GOOGLE_ISSUERS[0]!,
      }),
      ...options.env?.[name],
    };
    const service = {
      name,
      email,
      env,
      metadata,
      process: await launch({ name, bundle: name, env }),
      stop: () => service.process.stop(),
      start: async () => {
        const samePort = { ...env, PORT: String(service.process.port) };
        service.process = await launch({ name, bundle: name, env: samePort });
      },
    };
    stoppers.push(() => service.process.stop());
    return service;
  }

  try {
    // The target, on a free port behind its front end, admitting only the client's account.
    const target = await startService(
      "target",
      targetEmail,
      0,
      targetEnvironment({ project: projectId, clientEmail, targetAuthMode, audience: targetUrl }),
    );
    const invokers = [clientEmail];
    const frontEnd = await startFrontEnd({
      upstream: target.process.url,
      jwksUrl: target.metadata.jwksUrl,
      invokers,
      invokerIamDisabled: options.invokerIamDisabled === true,
      port: frontEndPort,
      ...(options.frontEndClockSkewSeconds !== undefined && {
        clockSkewSeconds: options.frontEndClockSkewSeconds,
      }),
      ...(options.grantDelaySeconds !== undefined && {
        grantDelaySeconds: options.grantDelaySeconds,
      }),
      ...(options.targetIngress !== undefined && { ingress: options.targetIngress }),
    });
    stoppers.push(() => frontEnd.server.drain(1000));
    const internalRoute = frontEnd.internal;
    if (internalRoute) stoppers.push(() => internalRoute.server.drain(1000));

    // The client, calling the target's URL with a token for that URL, as the stack wires it.
    const client = await startService(
      "client",
      clientEmail,
      clientPort,
      clientEnvironment({
        project: projectId,
        // With internal ingress the client calls through the VPC, still for the target's URL.
        targetUrl: internalRoute?.url ?? frontEnd.url,
        audience: frontEnd.url,
        targetAuthMode,
        tokenHeader: projectDefault("tokenHeader", TOKEN_HEADERS),
      }),
    );
    const services = {
      target: Object.assign(target, { url: frontEnd.url, frontEnd, invokers }),
      client: Object.assign(client, { url: client.process.url }),
    };
    return { projectId, issuer, services, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
