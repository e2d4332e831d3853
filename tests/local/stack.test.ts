import net from "node:net";
import { networkInterfaces } from "node:os";
import { type LocalStack, startLocalStack } from "../../local/stack";
import { TOPOLOGY, type Topology } from "../../services/topology";

/**
 * Addresses of this machine other than 127.0.0.1: its network interfaces' IPv4 addresses and,
 * on Linux, where all of 127/8 reaches this machine, 127.0.0.2. A socket bound to 127.0.0.1
 * refuses them all; one bound to every interface accepts them.
 */
function otherAddresses(): string[] {
  const external = Object.values(networkInterfaces())
    .flat()
    .filter((info) => info !== undefined && !info.internal && info.family === "IPv4")
    .map((info) => info!.address);
  return [...external, ...(process.platform === "linux" ? ["127.0.0.2"] : [])];
}

/** Whether a TCP connection to address:port is accepted. */
function connects(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port, timeout: 2000 });
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

/** Fetches an ID token from a service's own metadata stand-in, as that service would. */
async function identityToken(
  stack: LocalStack,
  service: string,
  audience: string,
): Promise<string> {
  const { metadata } = stack.services[service]!;
  const response = await fetch(
    `${metadata.url}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${audience}&format=full`,
    { headers: { "Metadata-Flavor": "Google" } },
  );
  return response.text();
}

describe("the local stack, from the same declaration as the deployed one", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ basePort: 0 });
  });
  afterAll(() => stack.stop());

  it("serves the client's call through the front end: the target names the client's service account", async () => {
    const client = stack.services.client!;
    const response = await fetch(client.url);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as {
      target: { body: { caller: { email: string }; authMode: string } };
    };
    expect(client.email).toBe("s2s-client@local-project.iam.gserviceaccount.com");
    expect(answer.target.body.caller.email).toBe(client.email);
    expect(answer.target.body.authMode).toBe("cloud-run");
  });

  it("keeps the target private: no credential gets 403 from its front end", async () => {
    expect((await fetch(stack.services.target!.url)).status).toBe(403);
  });

  it("refuses the target's own identity, which the declaration does not name as an invoker", async () => {
    const target = stack.services.target!;
    const token = await identityToken(stack, "target", target.url);
    const response = await fetch(target.url, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(403);
  });

  it("runs every service in its own process, behind its own front end when private", () => {
    const target = stack.services.target!;
    expect(target.process.pid).not.toBe(stack.services.client!.process.pid);
    expect(target.process.url).not.toBe(target.url);
  });

  it("binds every port it opens to 127.0.0.1 only: other addresses of this machine are refused", async () => {
    const { client, target } = stack.services;
    const ports = [
      client!.process.port,
      target!.process.port,
      Number(new URL(target!.url).port),
      Number(new URL(client!.metadata.url).port),
      Number(new URL(target!.metadata.url).port),
    ];
    const others = otherAddresses();
    expect(others.length).toBeGreaterThan(0);
    for (const port of ports) {
      expect(await connects("127.0.0.1", port)).toBe(true);
      for (const address of others)
        expect({ address, port, connects: await connects(address, port) }).toEqual({
          address,
          port,
          connects: false,
        });
    }
  });
});

describe("a third identity granted in the one declaration", () => {
  const extended: Topology = {
    ...TOPOLOGY,
    target: { ...TOPOLOGY.target!, invokers: ["client", "auditor"] },
    auditor: {
      description: "Another caller",
      invokers: "public",
      calls: "target",
      bundle: "client",
    },
  };
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ basePort: 0, topology: extended });
  });
  afterAll(() => stack.stop());

  it("is accepted by the target's front end", async () => {
    const auditor = stack.services.auditor!;
    const response = await fetch(auditor.url);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { target: { body: { caller: { email: string } } } };
    expect(answer.target.body.caller.email).toBe(
      "s2s-auditor@local-project.iam.gserviceaccount.com",
    );
  });

  it("appears in the target's invokers exactly as the stack would grant it", () => {
    expect(stack.services.target!.invokers).toEqual([
      "s2s-client@local-project.iam.gserviceaccount.com",
      "s2s-auditor@local-project.iam.gserviceaccount.com",
    ]);
  });
});
