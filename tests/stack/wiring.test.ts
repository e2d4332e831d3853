/**
 * How the program wires the two services, their images and the configuration into resources,
 * and what it promises in its outputs.
 */
import {
  FAKE_ACCESS_TOKEN,
  type Registration,
  type StackRun,
  TYPES,
  containerOf,
  envOf,
  runStack,
  valueOf,
} from "../helpers/pulumiMocks";

const CUSTOM_AUDIENCE = "https://target.example.com";
const services = ["target", "client"] as const;

let defaults: StackRun;

beforeAll(async () => {
  defaults = await runStack();
});

function cloudRunService({ engine }: StackRun, service: string): Registration {
  return engine.named(TYPES.runService, `${service}-service`);
}

describe("the client's call to the target", () => {
  test("goes to the target's URL with its deterministic URL as the token audience by default, the one audience the target accepts", async () => {
    const env = envOf(cloudRunService(defaults, "client"));
    const deterministicUrl = "https://s2s-target-123456789012.europe-west1.run.app";
    expect(env.TARGET_URL).toBe(await valueOf(defaults.outputs.targetUrl!));
    expect(env.TARGET_AUDIENCE).toBe(deterministicUrl);
    expect(envOf(cloudRunService(defaults, "target")).AUDIENCES).toBe(deterministicUrl);
    expect(cloudRunService(defaults, "target").inputs.customAudiences).toBeUndefined();
  });

  test("uses a configured custom audience, which is then also set on the target", async () => {
    const custom = await runStack({ customAudience: CUSTOM_AUDIENCE });
    const env = envOf(cloudRunService(custom, "client"));
    expect(env.TARGET_URL).toBe(await valueOf(custom.outputs.targetUrl!));
    expect(env.TARGET_AUDIENCE).toBe(CUSTOM_AUDIENCE);
    expect(envOf(cloudRunService(custom, "target")).AUDIENCES).toBe(CUSTOM_AUDIENCE);
    expect(cloudRunService(custom, "target").inputs.customAudiences).toEqual([CUSTOM_AUDIENCE]);
    expect(cloudRunService(custom, "client").inputs.customAudiences).toBeUndefined();
  });

  test("carries the token in both headers for a verifying target, and in the configured one for a target that trusts Cloud Run", async () => {
    expect(envOf(cloudRunService(defaults, "client")).TOKEN_HEADER).toBe("both");
    const trusting = await runStack({ targetAuthMode: "cloud-run" });
    expect(envOf(cloudRunService(trusting, "client")).TOKEN_HEADER).toBe("authorization");
    const serverless = await runStack({
      targetAuthMode: "cloud-run",
      tokenHeader: "x-serverless-authorization",
    });
    expect(envOf(cloudRunService(serverless, "client")).TOKEN_HEADER).toBe(
      "x-serverless-authorization",
    );
  });

  test("tells both services their project, and never sets PORT, which Cloud Run sets", () => {
    for (const service of services) {
      const env = envOf(cloudRunService(defaults, service));
      expect(env.GOOGLE_CLOUD_PROJECT).toBe("test-project");
      expect(env).not.toHaveProperty("PORT");
    }
  });
});

describe("images", () => {
  test.each(services)(
    "the %s image is built for linux/amd64 from the shared Dockerfile with its bundle",
    (service) => {
      const image = defaults.engine.named(TYPES.image, `${service}-image`);
      expect(image.inputs.build).toEqual({
        context: ".",
        dockerfile: "services/Dockerfile",
        platform: "linux/amd64",
        args: { SERVICE: service },
      });
    },
  );

  test.each(services)("the %s service runs its image by digest", (service) => {
    const image = defaults.engine.named(TYPES.image, `${service}-image`);
    expect(image.outputs.repoDigest).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(containerOf(cloudRunService(defaults, service)).image).toBe(image.outputs.repoDigest);
  });

  test("are pushed to the stack's Artifact Registry repository as the deployer, whose token stays secret", () => {
    const registry = defaults.engine.named(TYPES.registry, "images");
    expect(registry.inputs).toMatchObject({
      repositoryId: "s2s-images",
      location: "europe-west1",
      format: "DOCKER",
    });
    for (const service of services) {
      const image = defaults.engine.named(TYPES.image, `${service}-image`);
      expect(image.inputs.imageName).toBe(
        `europe-west1-docker.pkg.dev/test-project/s2s-images/${service}`,
      );
      expect(image.inputs.registry).toEqual({
        server: "europe-west1-docker.pkg.dev",
        username: "oauth2accesstoken",
        password: FAKE_ACCESS_TOKEN,
      });
      expect(image.secretPaths).toContain("registry.password");
    }
  });
});

/**
 * Every URN the engine must create before `resource`: what it depends on, directly (its
 * dependsOn and the outputs it reads) or through those in turn.
 */
function reachedFrom(resource: { dependencies: string[] }): Set<string> {
  const byUrn = new Map(defaults.engine.registrations.map((r) => [r.urn, r]));
  const reached = new Set<string>();
  const pending = [...resource.dependencies];
  for (let urn = pending.pop(); urn !== undefined; urn = pending.pop()) {
    if (reached.has(urn)) continue;
    reached.add(urn);
    pending.push(...(byUrn.get(urn)?.dependencies ?? []));
  }
  return reached;
}

describe("APIs", () => {
  test("run, artifactregistry and iam are enabled and stay enabled when the stack is destroyed", () => {
    const apis = defaults.engine.ofType(TYPES.api);
    expect(apis.map((api) => api.inputs.service).sort()).toEqual([
      "artifactregistry.googleapis.com",
      "iam.googleapis.com",
      "run.googleapis.com",
    ]);
    for (const api of apis) expect(api.inputs.disableOnDestroy).toBe(false);
  });

  test("are followed by no fixed wait: the stack creates no sleep or other third-party resource", () => {
    const types = new Set(defaults.engine.registrations.map((resource) => resource.type));
    // Its own dynamic resource aside: the working chain, which waits on the chain, not a clock.
    for (const type of types)
      expect(type).toMatch(
        /^(gcp|docker|cloud-run-private-calls):|^pulumi:pulumi:Stack$|^pulumi-nodejs:dynamic\/chain:WorkingChain$/,
      );
    expect(defaults.engine.hooks.error).toContain("retry-while-google-propagates");
  });

  test("come before the registry, the service accounts, the Cloud Run services and the grant", () => {
    const apiUrns = defaults.engine.ofType(TYPES.api).map((api) => api.urn);
    const needingApis = [
      ...defaults.engine.ofType(TYPES.registry),
      ...defaults.engine.ofType(TYPES.account),
      ...defaults.engine.ofType(TYPES.runService),
      ...defaults.engine.ofType(TYPES.runServiceMember),
    ];
    // The registry, both accounts, both services and the one grant.
    expect(needingApis).toHaveLength(1 + 2 + 2 + 1);
    for (const resource of needingApis)
      expect([...reachedFrom(resource)]).toEqual(expect.arrayContaining(apiUrns));
  });

  test("retry, like everything that follows them, while Google propagates what was just enabled or created", () => {
    const retried = [
      ...defaults.engine.ofType(TYPES.api),
      ...defaults.engine.ofType(TYPES.registry),
      ...defaults.engine.ofType(TYPES.account),
      ...defaults.engine.ofType(TYPES.runService),
      ...defaults.engine.ofType(TYPES.runServiceMember),
    ];
    expect(retried).toHaveLength(3 + 1 + 2 + 2 + 1);
    for (const resource of retried) {
      expect(resource.hooks.onError).toEqual(["retry-while-google-propagates"]);
    }
  });
});

describe("the image registry", () => {
  test("keeps the newest versions of each image and deletes old untagged ones, as configured", async () => {
    const custom = await runStack({ keepImageVersions: "3", deleteUntaggedImagesAfterDays: "7" });
    for (const [run, keep, days] of [
      [defaults, 5, 14],
      [custom, 3, 7],
    ] as const) {
      expect(run.engine.named(TYPES.registry, "images").inputs).toMatchObject({
        cleanupPolicyDryRun: false,
        cleanupPolicies: [
          { id: "keep-recent-versions", action: "KEEP", mostRecentVersions: { keepCount: keep } },
          {
            id: "delete-old-untagged",
            action: "DELETE",
            condition: { tagState: "UNTAGGED", olderThan: `${days}d` },
          },
        ],
      });
    }
  });

  test("builds images on preview only when buildOnPreview is set", async () => {
    const building = await runStack({ buildOnPreview: "true" });
    for (const service of services) {
      expect(defaults.engine.named(TYPES.image, `${service}-image`).inputs.buildOnPreview).toBe(
        false,
      );
      expect(building.engine.named(TYPES.image, `${service}-image`).inputs.buildOnPreview).toBe(
        true,
      );
    }
  });
});

describe("Cloud Run settings", () => {
  test("deletion protection is off unless configured, and then on for every service", async () => {
    const protectedRun = await runStack({ deletionProtection: "true" });
    for (const service of services) {
      expect(cloudRunService(defaults, service).inputs.deletionProtection).toBe(false);
      expect(cloudRunService(protectedRun, service).inputs.deletionProtection).toBe(true);
    }
  });

  test("the client is public through invokerIamDisabled by default, and reachable from anywhere", () => {
    const client = cloudRunService(defaults, "client");
    expect(client.inputs.invokerIamDisabled).toBe(true);
    expect(client.inputs.ingress).toBe("INGRESS_TRAFFIC_ALL");
  });

  test("internal ingress makes the target internal-only and sends the client's egress through the subnet", async () => {
    expect(cloudRunService(defaults, "target").inputs.ingress).toBe("INGRESS_TRAFFIC_ALL");
    const internal = await runStack({ targetIngress: "internal", clientVpcSubnet: "run-egress" });
    expect(cloudRunService(internal, "target").inputs.ingress).toBe(
      "INGRESS_TRAFFIC_INTERNAL_ONLY",
    );
    expect(cloudRunService(internal, "client").inputs.ingress).toBe("INGRESS_TRAFFIC_ALL");
    expect(cloudRunService(internal, "client").inputs.template).toMatchObject({
      vpcAccess: { networkInterfaces: [{ subnetwork: "run-egress" }], egress: "ALL_TRAFFIC" },
    });
  });

  test.each(services)(
    "the %s service is probed on /health at startup and while it runs, each probe timing out before its next period",
    (service) => {
      const container = containerOf(cloudRunService(defaults, service));
      const probes = [container.startupProbe, container.livenessProbe] as Array<{
        httpGet: { path: string };
        periodSeconds: number;
        timeoutSeconds: number;
      }>;
      for (const probe of probes) {
        expect(probe.httpGet.path).toBe("/health");
        expect(probe.timeoutSeconds).toBeLessThan(probe.periodSeconds);
      }
    },
  );

  test("sets neither a launch stage nor service-level scaling, which the provider reads back differently", () => {
    for (const service of services) {
      const inputs = cloudRunService(defaults, service).inputs;
      expect(inputs).not.toHaveProperty("launchStage");
      expect(inputs).not.toHaveProperty("scaling");
    }
  });

  test("request-based billing by default: CPU only while serving, set explicitly beside the limits", async () => {
    const instanceBased = await runStack({ billing: "instance-based" });
    for (const service of services) {
      expect(containerOf(cloudRunService(defaults, service)).resources).toEqual({
        limits: { cpu: "1", memory: "512Mi" },
        cpuIdle: true,
      });
      expect(containerOf(cloudRunService(instanceBased, service)).resources).toMatchObject({
        cpuIdle: false,
      });
    }
  });

  test("each service starts node with V8's old generation at a quarter of the configured memory", async () => {
    const large = await runStack({ memory: "1Gi" });
    const small = await runStack({ memory: "256Mi" });
    for (const service of services) {
      expect(containerOf(cloudRunService(defaults, service)).args).toEqual([
        "--max-semi-space-size=1",
        "--max-old-space-size=128",
        "--no-maglev",
        "server.js",
      ]);
      expect(containerOf(cloudRunService(large, service)).args).toContain(
        "--max-old-space-size=256",
      );
      expect(containerOf(cloudRunService(small, service)).args).toContain(
        "--max-old-space-size=64",
      );
    }
  });

  test("scaling, resources and concurrency follow config", async () => {
    const sized = await runStack({
      minInstances: "1",
      maxInstances: "5",
      cpu: "2",
      memory: "1Gi",
      concurrency: "40",
    });
    for (const service of services) {
      const cloudRun = cloudRunService(sized, service);
      expect(cloudRun.inputs.template).toMatchObject({
        scaling: { minInstanceCount: 1, maxInstanceCount: 5 },
        maxInstanceRequestConcurrency: 40,
      });
      expect(containerOf(cloudRun).resources).toMatchObject({
        limits: { cpu: "2", memory: "1Gi" },
      });
    }
  });

  test("every name carries the configured prefix", async () => {
    const demo = await runStack({ namePrefix: "demo" });
    expect(cloudRunService(demo, "target").inputs.name).toBe("demo-target");
    expect(demo.engine.named(TYPES.account, "client-account").inputs.accountId).toBe("demo-client");
    expect(demo.engine.named(TYPES.registry, "images").inputs.repositoryId).toBe("demo-images");
  });
});

describe("outputs", () => {
  test("name both URLs and both service accounts", async () => {
    const { outputs } = defaults;
    expect(await valueOf(outputs.clientUrl!)).toBe("https://s2s-client-abc123xyz-ew.a.run.app");
    expect(await valueOf(outputs.targetUrl!)).toBe("https://s2s-target-abc123xyz-ew.a.run.app");
    expect(await valueOf(outputs.clientServiceAccount!)).toBe(
      "s2s-client@test-project.iam.gserviceaccount.com",
    );
    expect(await valueOf(outputs.targetServiceAccount!)).toBe(
      "s2s-target@test-project.iam.gserviceaccount.com",
    );
  });

  test("give commands to paste with the answer each should get", async () => {
    const commands = (await valueOf(defaults.outputs.commands!)).split("\n");
    expect(commands).toContain(
      "curl https://s2s-client-abc123xyz-ew.a.run.app   # 200: the target's answer names s2s-client@test-project.iam.gserviceaccount.com as its caller",
    );
    expect(commands).toContain(
      "curl -i https://s2s-target-abc123xyz-ew.a.run.app   # 403 Forbidden: no ID token, and only s2s-client@test-project.iam.gserviceaccount.com may invoke the target",
    );
  });
});
