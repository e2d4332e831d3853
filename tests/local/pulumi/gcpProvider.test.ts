import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gcpStandIn, projectNumber } from "../../../local/pulumi/gcpProvider";
import {
  type OperationContext,
  type Properties,
  UNKNOWN,
} from "../../../local/pulumi/providerServer";

const ROOT = path.join(__dirname, "..", "..", "..");

const SERVICE = "gcp:cloudrunv2/service:Service";
const IAM_MEMBER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember";
const ACCOUNT = "gcp:serviceaccount/account:Account";
const API = "gcp:projects/service:Service";
const REPOSITORY = "gcp:artifactregistry/repository:Repository";
const GET_PROJECT = "gcp:organizations/getProject:getProject";
const GET_CLIENT_CONFIG = "gcp:organizations/getClientConfig:getClientConfig";

const { resources, functions } = gcpStandIn;

/** What the provider is configured with in these tests, as `gcp:project` and `gcp:region`. */
const CONFIG = { project: "demo-project", region: "europe-west1" };

function context(name: string, preview = false): OperationContext {
  return { config: { ...CONFIG }, name, preview };
}

function serviceInputs(overrides: Properties = {}): Properties {
  return {
    name: "target-service",
    location: "europe-west1",
    deletionProtection: false,
    template: { containers: [{ image: "europe-west1-docker.pkg.dev/demo-project/s/t@sha256:1" }] },
    ...overrides,
  };
}

let scratch: string;
let cloudFile: string;
const envBefore = {
  STANDIN_CLOUD: process.env.STANDIN_CLOUD,
  STANDIN_CLOUD_RUN_URLS: process.env.STANDIN_CLOUD_RUN_URLS,
};

beforeEach(() => {
  scratch = mkdtempSync(path.join(tmpdir(), "gcp-stand-in-"));
  cloudFile = path.join(scratch, "cloud.json");
  process.env.STANDIN_CLOUD = cloudFile;
  delete process.env.STANDIN_CLOUD_RUN_URLS;
});

afterEach(() => {
  for (const [key, value] of Object.entries(envBefore)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  rmSync(scratch, { recursive: true, force: true });
});

/** What exists in "the cloud", read from its file rather than through the code under test. */
function existing(): Record<string, Properties> {
  if (!existsSync(cloudFile)) return {};
  return JSON.parse(readFileSync(cloudFile, "utf8")) as Record<string, Properties>;
}

describe("the gcp stand-in's identity", () => {
  it("claims the version of @pulumi/gcp that the program depends on", () => {
    const installed = JSON.parse(
      readFileSync(path.join(ROOT, "node_modules", "@pulumi", "gcp", "package.json"), "utf8"),
    ) as { version: string };
    expect(installed.version).toBe("9.37.0");
    expect(gcpStandIn.version).toBe("9.37.0");
  });

  it("offers exactly the resource types the stack uses", () => {
    expect(Object.keys(resources).sort()).toEqual(
      [API, REPOSITORY, SERVICE, IAM_MEMBER, ACCOUNT].sort(),
    );
  });
});

describe("replacement rules of the gcp stand-in", () => {
  it.each([
    [SERVICE, ["location", "name", "project"]],
    [IAM_MEMBER, ["condition", "location", "member", "name", "project", "role"]],
    [ACCOUNT, ["accountId", "project"]],
    [API, ["project", "service"]],
  ])("%s is replaced on a change of exactly its ForceNew inputs", (type, forceNew) => {
    const resource = resources[type as keyof typeof resources];
    expect([...resource.replaceOnChanges].sort()).toEqual(forceNew);
  });

  it("an Artifact Registry repository is replaced on a change of project, location, repositoryId or format", () => {
    expect(resources[REPOSITORY].replaceOnChanges).toEqual(
      expect.arrayContaining(["project", "location", "repositoryId", "format"]),
    );
  });

  it("a Cloud Run service is updated in place, not replaced, when its template or flags change", () => {
    const { replaceOnChanges } = resources[SERVICE];
    for (const input of ["template", "deletionProtection", "ingress", "scaling", "labels"]) {
      expect(replaceOnChanges).not.toContain(input);
    }
  });
});

describe("outputs of the gcp stand-in", () => {
  it("gives a Cloud Run service the uri https://<name>-<project number>.<region>.run.app and a hash-style URL too", async () => {
    const number = functions[GET_PROJECT]({ projectId: "demo-project" }, context("p")).number;
    const { outputs } = await resources[SERVICE].create(serviceInputs(), context("target-service"));
    expect(outputs.uri).toBe(`https://target-service-${String(number)}.europe-west1.run.app`);
    expect(outputs.urls).toHaveLength(2);
    expect(outputs.urls).toContain(outputs.uri);
    expect((outputs.urls as string[]).find((url) => url !== outputs.uri)).toMatch(
      /^https:\/\/target-service-[a-z0-9]+-[a-z0-9]+\.a\.run\.app$/,
    );
  });

  describe("with STANDIN_CLOUD_RUN_URLS naming a local URL", () => {
    beforeEach(() => {
      process.env.STANDIN_CLOUD_RUN_URLS = JSON.stringify({
        "target-service": "http://127.0.0.1:1234",
      });
    });

    it("reports that local URL as the uri of the service it names, and the usual one for others", async () => {
      const target = await resources[SERVICE].create(serviceInputs(), context("target-service"));
      expect(target.outputs.uri).toBe("http://127.0.0.1:1234");
      const client = await resources[SERVICE].create(
        serviceInputs({ name: "client-service" }),
        context("client-service"),
      );
      expect(client.outputs.uri).toBe(
        `https://client-service-${projectNumber("demo-project")}.europe-west1.run.app`,
      );
    });
  });

  it("counts a Cloud Run service's generation up on each update and keeps its uid", async () => {
    const service = resources[SERVICE];
    const { id, outputs: created } = await service.create(
      serviceInputs(),
      context("target-service"),
    );
    expect(created.generation).toBe("1");
    const changed = serviceInputs({ template: { containers: [{ image: "x@sha256:2" }] } });
    const updated = await service.update(id, created, changed, context("target-service"));
    expect(updated.generation).toBe("2");
    expect(updated.uid).toBe(created.uid);
    const again = await service.update(id, updated, changed, context("target-service"));
    expect(again.generation).toBe("3");
    expect(again.uid).toBe(created.uid);
    expect(existing()[id]?.generation).toBe("3");
  });

  it("gives a service account the email <accountId>@<project>.iam.gserviceaccount.com and the member serviceAccount:<email>", async () => {
    const { outputs } = await resources[ACCOUNT].create(
      { accountId: "client-caller", displayName: "Client" },
      context("client-caller"),
    );
    expect(outputs.email).toBe("client-caller@demo-project.iam.gserviceaccount.com");
    expect(outputs.member).toBe(
      "serviceAccount:client-caller@demo-project.iam.gserviceaccount.com",
    );
  });

  it("gives a service account of a domain-scoped project example.com:my-project the email <accountId>@my-project.example.com.iam.gserviceaccount.com", async () => {
    const { outputs } = await resources[ACCOUNT].create(
      { accountId: "client-caller", project: "example.com:my-project" },
      context("client-caller"),
    );
    expect(outputs.email).toBe("client-caller@my-project.example.com.iam.gserviceaccount.com");
  });

  it("gives a Docker repository the registryUri <location>-docker.pkg.dev/<project>/<repositoryId>", async () => {
    const { outputs } = await resources[REPOSITORY].create(
      { location: "europe-west1", repositoryId: "services", format: "DOCKER" },
      context("services"),
    );
    expect(outputs.registryUri).toBe("europe-west1-docker.pkg.dev/demo-project/services");
  });

  it("in a preview, reports what Google computes as unknown, keeps the inputs and records nothing", async () => {
    const service = await resources[SERVICE].create(
      serviceInputs(),
      context("target-service", true),
    );
    for (const key of ["uri", "urls", "uid", "generation", "latestReadyRevision"]) {
      expect(service.outputs[key]).toBe(UNKNOWN);
    }
    expect(service.outputs.name).toBe("target-service");
    expect(service.outputs.location).toBe("europe-west1");

    const account = await resources[ACCOUNT].create(
      { accountId: "client-caller" },
      context("a", true),
    );
    expect(account.outputs.email).toBe(UNKNOWN);
    expect(account.outputs.member).toBe(UNKNOWN);
    expect(account.outputs.accountId).toBe("client-caller");

    const repository = await resources[REPOSITORY].create(
      { location: "europe-west1", repositoryId: "services", format: "DOCKER" },
      context("services", true),
    );
    expect(repository.outputs.registryUri).toBe(UNKNOWN);

    const member = await resources[IAM_MEMBER].create(
      {
        name: "target-service",
        location: "europe-west1",
        role: "roles/run.invoker",
        member: "serviceAccount:client-caller@demo-project.iam.gserviceaccount.com",
      },
      context("invoker", true),
    );
    expect(member.outputs.etag).toBe(UNKNOWN);

    expect(existing()).toEqual({});
  });

  it("in a preview of an update, leaves the service in the cloud as it was", async () => {
    const service = resources[SERVICE];
    const { id, outputs } = await service.create(serviceInputs(), context("target-service"));
    const previewed = await service.update(
      id,
      outputs,
      serviceInputs({ template: { containers: [{ image: "x@sha256:2" }] } }),
      context("target-service", true),
    );
    expect(previewed.generation).toBe(UNKNOWN);
    expect(existing()[id]?.generation).toBe("1");
    expect(existing()[id]?.template).toEqual(serviceInputs().template);
  });
});

describe("deletion protection of a Cloud Run service", () => {
  // pulumi-gcp 9.37.0 documents deletionProtection as "Defaults to true … When the field is set
  // to true or unset in Terraform state, a `pulumi up` or `terraform destroy` that would delete
  // the service will fail."
  it.each([
    ["true", { deletionProtection: true }],
    ["unset, as it defaults to true", { deletionProtection: undefined }],
  ])(
    "refuses to delete a service whose state has deletionProtection %s, with the provider's text, and leaves it there",
    async (_state, setting) => {
      const service = resources[SERVICE];
      const inputs = { ...serviceInputs(), ...setting };
      if (setting.deletionProtection === undefined) delete inputs.deletionProtection;
      const { id, outputs } = await service.create(inputs, context("target-service"));
      await expect(async () =>
        service.delete(id, outputs, context("target-service")),
      ).rejects.toThrow(
        new Error(
          "cannot destroy service without setting deletion_protection=false and running `terraform apply`",
        ),
      );
      expect(Object.keys(existing())).toContain(id);
    },
  );

  it("deletes a service whose state has deletionProtection false", async () => {
    const service = resources[SERVICE];
    const { id, outputs } = await service.create(
      serviceInputs({ deletionProtection: false }),
      context("target-service"),
    );
    await service.delete(id, outputs, context("target-service"));
    expect(Object.keys(existing())).not.toContain(id);
  });
});

describe("Cloud Run service names", () => {
  it("refuses a second service with a taken name in the same project and region with a 409", async () => {
    const service = resources[SERVICE];
    await service.create(serviceInputs(), context("target-service"));
    await expect(async () =>
      service.create(serviceInputs(), context("target-service-2")),
    ).rejects.toThrow(/Error 409.*already exists/);
  });

  it.each([
    ["another region", { location: "us-central1" }],
    ["another project", { project: "other-project" }],
  ])("accepts a service with a taken name in %s", async (_where, overrides) => {
    const service = resources[SERVICE];
    const first = await service.create(serviceInputs(), context("target-service"));
    const second = await service.create(serviceInputs(overrides), context("target-service-2"));
    expect(second.id).not.toBe(first.id);
    expect(Object.keys(existing())).toEqual(expect.arrayContaining([first.id, second.id]));
  });

  it("frees the name again once the service that held it is deleted", async () => {
    const service = resources[SERVICE];
    const { id, outputs } = await service.create(serviceInputs(), context("target-service"));
    await service.delete(id, outputs, context("target-service"));
    const again = await service.create(serviceInputs(), context("target-service"));
    expect(again.id).toBe(id);
    expect(Object.keys(existing())).toEqual([id]);
  });
});

describe("IAM members on a Cloud Run service", () => {
  const invoker = (overrides: Properties = {}): Properties => ({
    name: "target-service",
    location: "europe-west1",
    role: "roles/run.invoker",
    member: "serviceAccount:client-caller@demo-project.iam.gserviceaccount.com",
    ...overrides,
  });

  it("refuses a member on a service that does not exist with a 404 and records nothing", async () => {
    await expect(async () =>
      resources[IAM_MEMBER].create(invoker(), context("invoker")),
    ).rejects.toThrow(/Error 404/);
    expect(existing()).toEqual({});
  });

  it("refuses a member on a service of that name in another region with a 404", async () => {
    await resources[SERVICE].create(serviceInputs(), context("target-service"));
    await expect(async () =>
      resources[IAM_MEMBER].create(invoker({ location: "us-central1" }), context("invoker")),
    ).rejects.toThrow(/Error 404/);
  });

  it("grants a member on a service that exists", async () => {
    await resources[SERVICE].create(serviceInputs(), context("target-service"));
    const { id, outputs } = await resources[IAM_MEMBER].create(invoker(), context("invoker"));
    expect(outputs.role).toBe("roles/run.invoker");
    expect(outputs.project).toBe("demo-project");
    expect(Object.keys(existing())).toContain(id);
  });
});

describe("functions of the gcp stand-in", () => {
  it("getProject reports a stable 12-digit project number of the project's own", () => {
    const getProject = functions[GET_PROJECT];
    const demo = getProject({ projectId: "demo-project" }, context("p"));
    expect(demo.projectId).toBe("demo-project");
    expect(demo.number).toBe(projectNumber("demo-project"));
    expect(demo.number).toMatch(/^[1-9]\d{11}$/);
    expect(getProject({ projectId: "demo-project" }, context("p")).number).toBe(demo.number);
    const other = getProject({ projectId: "other-project" }, context("p")).number;
    expect(other).toMatch(/^[1-9]\d{11}$/);
    expect(other).not.toBe(demo.number);
  });

  it("getProject without a projectId reports the configured project", () => {
    const configured = functions[GET_PROJECT]({}, context("p"));
    expect(configured.projectId).toBe("demo-project");
    expect(configured.number).toBe(projectNumber("demo-project"));
  });

  it("getClientConfig reports a clearly fake access token and the configured project", () => {
    const config = functions[GET_CLIENT_CONFIG]({}, context("p"));
    expect(config.project).toBe("demo-project");
    expect(typeof config.accessToken).toBe("string");
    // Google's OAuth access tokens start "ya29."; this one must not pass for one.
    expect(config.accessToken).not.toMatch(/^ya29\./);
    expect(config.accessToken).toMatch(/stand-in|fake/i);
  });
});
