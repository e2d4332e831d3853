import net from "node:net";
import os from "node:os";
import { type LocalService } from "../../local/stack";
import {
  type Registration,
  type StackRun,
  TYPES,
  envOf,
  runStack,
  valueOf,
} from "../helpers/pulumiMocks";
import { sharedLocalStack } from "../helpers/localStack";
import { projectConfig } from "../../local/projectFile";

/** Fetches an ID token from a service's own metadata stand-in, as that service would. */
async function identityToken(service: LocalService, audience: string): Promise<string> {
  const response = await fetch(
    `${service.metadata.url}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${audience}&format=full`,
    { headers: { "Metadata-Flavor": "Google" } },
  );
  return response.text();
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Addresses of this machine other than 127.0.0.1: where a service bound to all interfaces answers. */
function otherAddresses(): string[] {
  const external = Object.values(os.networkInterfaces())
    .flat()
    .filter((address) => address !== undefined && address.family === "IPv4" && !address.internal)
    .map((address) => address!.address);
  // Linux routes all of 127.0.0.0/8 to loopback: a socket bound to 127.0.0.1 alone refuses it.
  return process.platform === "linux" ? ["127.0.0.2", ...external] : external;
}

describe("the local stack", () => {
  const stack = sharedLocalStack();

  it("serves the client's call through the front end: the target names the client's service account", async () => {
    const { client } = stack().services;
    const response = await fetch(client.url);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as {
      target: { body: { caller: { email: string }; authMode: string } };
    };
    expect(client.email).toBe("s2s-client@local-project.iam.gserviceaccount.com");
    expect(answer.target.body.caller.email).toBe(client.email);
    expect(answer.target.body.authMode).toBe("verify");
  });

  it("keeps the target private: no credential gets 403 from its front end", async () => {
    expect((await fetch(stack().services.target.url)).status).toBe(403);
  });

  it("refuses the target's own identity, which holds no invoker grant", async () => {
    const { target } = stack().services;
    const token = await identityToken(target, target.url);
    const response = await fetch(target.url, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(403);
  });

  it("runs the two services as two processes, the target behind its front end", () => {
    const { target, client } = stack().services;
    expect(target.process.pid).not.toBe(client.process.pid);
    expect(target.process.url).not.toBe(target.url);
  });

  it("binds every service, front end and stand-in to 127.0.0.1 only", async () => {
    const { target, client } = stack().services;
    const ports = [
      client.process.port,
      target.process.port,
      Number(new URL(target.url).port),
      Number(new URL(client.metadata.url).port),
      Number(new URL(target.metadata.url).port),
    ];
    for (const port of ports) expect(await accepts("127.0.0.1", port)).toBe(true);
    const elsewhere = otherAddresses();
    // Without another address the check would pass vacuously.
    expect(elsewhere.length).toBeGreaterThan(0);
    for (const address of elsewhere) {
      for (const port of ports)
        expect({ address, port, accepted: await accepts(address, port) }).toEqual({
          address,
          port,
          accepted: false,
        });
    }
  });
});

describe("the local stack and the deployed stack", () => {
  const local = sharedLocalStack();
  let deployed: StackRun;
  beforeAll(async () => {
    deployed = await runStack();
  });

  const cloudRun = (service: "target" | "client"): Registration =>
    deployed.engine.named(TYPES.runService, `${service}-service`);
  /** What the local stack adds to reach its stand-ins on loopback. */
  const LOCAL_PLUMBING = ["PORT", "HOST", "GCE_METADATA_HOST", "JWKS_URL", "TOKEN_ISSUER"];
  const localNames = (service: LocalService) =>
    Object.keys(service.env)
      .filter((name) => !LOCAL_PLUMBING.includes(name))
      .sort();

  it.each(["target", "client"] as const)("hand the %s the same variable names", (service) => {
    expect(localNames(local().services[service])).toEqual(
      Object.keys(envOf(cloudRun(service))).sort(),
    );
  });

  it("wire the client to the target's URL, with a token audience the target accepts", async () => {
    const deployedClient = envOf(cloudRun("client"));
    expect(deployedClient.TARGET_URL).toBe(await valueOf(deployed.outputs.targetUrl!));
    expect(deployedClient.TARGET_AUDIENCE).toBe(envOf(cloudRun("target")).AUDIENCES);
    const { client, target } = local().services;
    expect([client.env.TARGET_URL, client.env.TARGET_AUDIENCE]).toEqual([target.url, target.url]);
    expect(target.env.AUDIENCES).toBe(target.url);
    expect(client.env.TOKEN_HEADER).toBe(deployedClient.TOKEN_HEADER);
  });

  it("admit exactly the client's account at the target, in the same mode", async () => {
    const deployedTarget = envOf(cloudRun("target"));
    expect(deployedTarget.ALLOWED_INVOKERS).toBe(
      await valueOf(deployed.outputs.clientServiceAccount!),
    );
    const { client, target } = local().services;
    expect(target.env.ALLOWED_INVOKERS).toBe(client.email);
    expect(target.invokers).toEqual([client.email]);
    expect(target.env.AUTH_MODE).toBe(deployedTarget.AUTH_MODE);
  });

  it("name the accounts alike: <prefix>-target and <prefix>-client, with Pulumi.yaml's default prefix", () => {
    const declaration = projectConfig().namePrefix;
    const prefix = typeof declaration === "string" ? declaration : String(declaration?.default);
    expect(local().services.target.email).toBe(
      `${prefix}-target@local-project.iam.gserviceaccount.com`,
    );
    expect(local().services.client.email).toBe(
      `${prefix}-client@local-project.iam.gserviceaccount.com`,
    );
  });
});
