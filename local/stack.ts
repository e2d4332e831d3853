/**
 * The whole product on loopback, from the same declaration the Pulumi program deploys:
 * one metadata stand-in per service (each answers for that service's own account), a Cloud Run
 * front-end stand-in before every private service, and every service running from its bundle.
 * `npm start` runs this; the end-to-end tests start exactly the same thing.
 */
import net from "node:net";
import type { Logger } from "../services/shared/logger";
import {
  callOrder,
  DEFAULT_NAME_PREFIX,
  invokersOf,
  isPublic,
  serviceAccountEmail,
  serviceAccountId,
  serviceEnvironment,
  TOPOLOGY,
  type Topology,
} from "../services/topology";
import { type FrontEnd, startFrontEnd } from "./frontEnd";
import { type LaunchedService, type Launcher, processLauncher } from "./launcher";
import { type RunningMetadataServer, startMetadataServer } from "./metadataServer";
import { TokenIssuer } from "./tokenIssuer";

export const LOCAL_PROJECT = "local-project";

export interface LocalStackOptions {
  topology?: Topology;
  projectId?: string;
  namePrefix?: string;
  /**
   * Port of the first service URL; the others follow in order, public services first.
   * 0 gives every URL a free port.
   */
  basePort?: number;
  launch?: Launcher;
  issuer?: TokenIssuer;
  /** Extra environment per service, e.g. `{ client: { TARGET_TIMEOUT_MS: "500" } }`. */
  env?: Readonly<Record<string, Record<string, string>>>;
  /**
   * The benchmark's baseline: front ends forward everything without checking. The benchmark
   * also runs its own unauthenticated target build; nothing here is deployable.
   */
  withoutAuthentication?: boolean;
  /** Front ends' tolerance for disagreeing clocks; 30 s unless a test needs it strict. */
  frontEndClockSkewSeconds?: number;
  logger?: Logger;
}

export interface LocalService {
  name: string;
  /** The service account the service runs as. */
  email: string;
  /** The URL callers use: the front end for a private service. */
  url: string;
  /** E-mails that may invoke it; empty for a public service. */
  invokers: string[];
  /** The running process; replaced when the service is started again. */
  process: LaunchedService;
  /** The service's own metadata-server stand-in. */
  metadata: RunningMetadataServer;
  frontEnd: FrontEnd | undefined;
  /** Stops the service's process (SIGTERM), leaving its front end and stand-in up. */
  stop(): Promise<void>;
  /** Starts the service again on the port it had, with the same environment. */
  start(): Promise<void>;
}

export interface LocalStack {
  projectId: string;
  issuer: TokenIssuer;
  services: Record<string, LocalService>;
  /** Stops every process and server the stack started. */
  stop(): Promise<void>;
}

/** The fixed URL port of each service: public services first, then private, from basePort. */
function urlPorts(topology: Topology, basePort: number): Map<string, number> {
  const names = Object.keys(topology);
  const ordered = [
    ...names.filter((n) => isPublic(topology, n)),
    ...names.filter((n) => !isPublic(topology, n)),
  ];
  return new Map(ordered.map((name, index) => [name, basePort === 0 ? 0 : basePort + index]));
}

/** Fails with a clear message before anything starts if a chosen port is taken. */
async function assertPortFree(port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === "EADDRINUSE"
            ? `port ${port} is already in use; choose other ports with --port <first port>`
            : `port ${port} cannot be used: ${error.message}`,
        ),
      ),
    );
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const topology = options.topology ?? TOPOLOGY;
  const projectId = options.projectId ?? LOCAL_PROJECT;
  const prefix = options.namePrefix ?? DEFAULT_NAME_PREFIX;
  const launch = options.launch ?? processLauncher();
  const issuer = options.issuer ?? new TokenIssuer();
  const { logger } = options;
  const emailOf = (name: string) => serviceAccountEmail(serviceAccountId(prefix, name), projectId);
  const ports = urlPorts(topology, options.basePort ?? 8080);
  for (const port of ports.values()) await assertPortFree(port);

  const services: Record<string, LocalService> = {};
  const stoppers: Array<() => Promise<void>> = [];
  const stop = async () => {
    // Callers first, so nothing is left calling a service that is already gone.
    for (const stopOne of stoppers.splice(0).reverse()) await stopOne();
  };

  try {
    for (const name of callOrder(topology)) {
      const declaration = topology[name]!;
      const email = emailOf(name);
      const metadata = await startMetadataServer({
        projectId,
        email,
        issuer,
        ...(logger && { logger }),
      });
      stoppers.push(() => metadata.stop());

      const invokers = invokersOf(topology, name).map(emailOf);
      const isPrivate = !isPublic(topology, name);
      const callee = declaration.calls === undefined ? undefined : services[declaration.calls];
      const request = {
        name,
        bundle: declaration.bundle,
        env: {
          PORT: String(isPrivate ? 0 : ports.get(name)),
          HOST: "127.0.0.1",
          GCE_METADATA_HOST: metadata.host,
          ...serviceEnvironment(topology, name, {
            projectId,
            allowedInvokers: invokers.join(","),
            ...(callee && { callee: { url: callee.url, audience: callee.url } }),
          }),
          ...options.env?.[name],
        },
      };
      const launched = await launch(request);

      let frontEnd: FrontEnd | undefined;
      if (isPrivate) {
        frontEnd = await startFrontEnd({
          upstream: launched.url,
          jwksUrl: metadata.jwksUrl,
          invokers,
          public: options.withoutAuthentication === true,
          port: ports.get(name) ?? 0,
          ...(options.frontEndClockSkewSeconds !== undefined && {
            clockSkewSeconds: options.frontEndClockSkewSeconds,
          }),
          ...(logger && { logger }),
        });
      }
      const service: LocalService = {
        name,
        email,
        url: frontEnd?.url ?? launched.url,
        invokers,
        process: launched,
        metadata,
        frontEnd,
        stop: () => service.process.stop(),
        start: async () => {
          const port = String(service.process.port);
          service.process = await launch({ ...request, env: { ...request.env, PORT: port } });
        },
      };
      services[name] = service;
      stoppers.push(() => service.process.stop());
      if (frontEnd) {
        const running = frontEnd.server;
        stoppers.push(() => running.drain(1000));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { projectId, issuer, services, stop };
}
