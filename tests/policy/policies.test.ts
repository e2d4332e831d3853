/**
 * Each policy of the pack, called directly on compliant and violating resources, including the
 * near misses that must not slip through.
 */
import type { PolicyResource } from "@pulumi/policy";
import {
  POLICIES,
  noAuthoritativeCloudRunIam,
  noBroadGrants,
  publicPrincipalsOnlyInvokePublicServices,
  runtimeAccountServesOneService,
  runtimeAccountsHoldOnlyInvokerGrants,
  servicesRunAsDedicatedAccounts,
  targetsKeepInvokerCheck,
} from "../../policy/policies";
import { stackResource, urnOf, violationsOfResource, violationsOfStack } from "./policyArgs";

const V2_SERVICE = "gcp:cloudrunv2/service:Service";
const V1_SERVICE = "gcp:cloudrun/service:Service";
const V2_MEMBER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember";
const ACCOUNT = "gcp:serviceaccount/account:Account";
const SA_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember";
const PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember";
const TARGET_EMAIL = "s2s-target@my-project.iam.gserviceaccount.com";
const CLIENT_EMAIL = "s2s-client@my-project.iam.gserviceaccount.com";

function account(name: string, email: string): PolicyResource {
  return stackResource(ACCOUNT, name, {
    email,
    name: `projects/my-project/serviceAccounts/${email}`,
  });
}

function v2Service(
  name: string,
  runAs: PolicyResource,
  extra: Record<string, unknown> = {},
  dependencies: PolicyResource[] = [],
): PolicyResource {
  return stackResource(
    V2_SERVICE,
    `${name}-service`,
    {
      name,
      location: "europe-west1",
      invokerIamDisabled: false,
      template: { serviceAccount: runAs.props.email },
      ...extra,
    },
    { template: [runAs, ...dependencies] },
  );
}

function invokerMember(
  name: string,
  service: PolicyResource,
  member: string,
  memberFrom: PolicyResource[] = [],
): PolicyResource {
  return stackResource(
    V2_MEMBER,
    name,
    { name: service.props.name, location: "europe-west1", role: "roles/run.invoker", member },
    { name: [service], member: memberFrom },
  );
}

/** The shape the stack deploys: target, client calling it, and the one grant. */
function deployedShape(options: { clientOpen?: boolean } = {}) {
  const targetAccount = account("target-account", TARGET_EMAIL);
  const clientAccount = account("client-account", CLIENT_EMAIL);
  const target = v2Service("s2s-target", targetAccount);
  const client = v2Service(
    "s2s-client",
    clientAccount,
    { invokerIamDisabled: options.clientOpen ?? true },
    [target],
  );
  const grant = invokerMember("target-invoker-client", target, `serviceAccount:${CLIENT_EMAIL}`, [
    clientAccount,
  ]);
  return { targetAccount, clientAccount, target, client, grant };
}

function resources(shape: ReturnType<typeof deployedShape>): PolicyResource[] {
  return Object.values(shape);
}

test("every policy of the pack is mandatory, but the advisory one on the target's own token check, and named once", () => {
  expect(POLICIES.map((policy) => policy.enforcementLevel)).toEqual(
    POLICIES.map((policy) =>
      policy.name === "cloud-run-target-verifies-tokens" ? "advisory" : "mandatory",
    ),
  );
  expect(new Set(POLICIES.map((policy) => policy.name)).size).toBe(POLICIES.length);
});

test("the deployed shape passes every stack policy", async () => {
  const shape = resources(deployedShape());
  for (const policy of [
    targetsKeepInvokerCheck,
    publicPrincipalsOnlyInvokePublicServices,
    runtimeAccountsHoldOnlyInvokerGrants,
    runtimeAccountServesOneService,
  ]) {
    expect(await violationsOfStack(policy, shape)).toEqual([]);
  }
});

describe("a target keeps Cloud Run's invoker check", () => {
  const check = (...all: PolicyResource[]) => violationsOfStack(targetsKeepInvokerCheck, all);

  test("a service granted to a named invoker, with the check disabled, is a violation reported on it", async () => {
    const shape = deployedShape();
    const target = v2Service("s2s-target", shape.targetAccount, { invokerIamDisabled: true });
    const grant = invokerMember("grant", target, `serviceAccount:${CLIENT_EMAIL}`);
    expect(await check(target, grant)).toEqual([
      {
        message: expect.stringContaining('"s2s-target-service" is called by named principals'),
        urn: target.urn,
      },
    ]);
  });

  test("a service whose URL another service is configured with counts as a target too", async () => {
    const shape = deployedShape();
    const target = v2Service("s2s-target", shape.targetAccount, { invokerIamDisabled: true });
    const client = v2Service("s2s-client", shape.clientAccount, {}, [target]);
    expect(await check(target, client)).toHaveLength(1);
  });

  test("the v1 annotation that disables the check is a violation on a target", async () => {
    const target = stackResource(V1_SERVICE, "legacy", {
      name: "legacy",
      metadata: { annotations: { "run.googleapis.com/invoker-iam-disabled": "true" } },
    });
    const grant = stackResource(
      "gcp:cloudrun/iamMember:IamMember",
      "legacy-invoker",
      { service: "legacy", role: "roles/run.invoker", member: `serviceAccount:${CLIENT_EMAIL}` },
      { service: [target] },
    );
    expect(await check(target, grant)).toHaveLength(1);
  });

  test("a service that nobody is granted to call and nobody calls may be public", async () => {
    const { client, clientAccount } = deployedShape();
    expect(await check(client, clientAccount)).toEqual([]);
  });

  test("an allUsers grant does not make a service a target", async () => {
    const { client } = deployedShape();
    expect(await check(client, invokerMember("open", client, "allUsers"))).toEqual([]);
  });
});

describe("public principals only invoke a public service", () => {
  const check = (...all: PolicyResource[]) =>
    violationsOfStack(publicPrincipalsOnlyInvokePublicServices, all);

  test.each(["allUsers", "allAuthenticatedUsers"])(
    "%s invoking the target is a violation, reported on the grant",
    async (principal) => {
      const shape = deployedShape();
      const open = invokerMember("target-public", shape.target, principal);
      expect(await check(...resources(shape), open)).toEqual([
        {
          message: expect.stringContaining(
            `"target-public" grants roles/run.invoker to ${principal} on Cloud Run service "s2s-target-service", which others are granted to call`,
          ),
          urn: urnOf(V2_MEMBER, "target-public"),
        },
      ]);
    },
  );

  test("the target is also found by name when the grant names it with a literal", async () => {
    const shape = deployedShape();
    const open = stackResource(V2_MEMBER, "by-name", {
      name: "projects/my-project/locations/europe-west1/services/s2s-target",
      role: "roles/run.invoker",
      member: "allUsers",
    });
    expect(await check(...resources(shape), open)).toHaveLength(1);
  });

  test("allUsers invoking the public client with a single-member grant passes", async () => {
    const shape = deployedShape({ clientOpen: false });
    expect(
      await check(...resources(shape), invokerMember("open", shape.client, "allUsers")),
    ).toEqual([]);
  });

  test.each<[string, (shape: ReturnType<typeof deployedShape>) => PolicyResource]>([
    [
      "a role other than the invoker on the public client",
      ({ client }) =>
        stackResource(V2_MEMBER, "grant", {
          name: client.props.name,
          role: "roles/run.developer",
          member: "allUsers",
        }),
    ],
    [
      "an authoritative binding opening the public client",
      ({ client }) =>
        stackResource("gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding", "grant", {
          name: client.props.name,
          role: "roles/run.invoker",
          members: ["allUsers"],
        }),
    ],
    [
      "a service this stack does not hold",
      () =>
        stackResource(V2_MEMBER, "grant", {
          name: "somebody-elses-service",
          role: "roles/run.invoker",
          member: "allUsers",
        }),
    ],
    [
      "a reader on the image repository",
      () =>
        stackResource("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", "grant", {
          repository: "s2s-images",
          role: "roles/artifactregistry.reader",
          member: "allUsers",
        }),
    ],
    [
      "a viewer on the project",
      () =>
        stackResource(PROJECT_MEMBER, "grant", {
          project: "my-project",
          role: "roles/viewer",
          member: "allAuthenticatedUsers",
        }),
    ],
    [
      "a token creator on a service account, in a policy document",
      () =>
        stackResource("gcp:serviceaccount/iAMPolicy:IAMPolicy", "grant", {
          serviceAccountId: "projects/p/serviceAccounts/other@p.iam.gserviceaccount.com",
          policyData: JSON.stringify({
            bindings: [{ role: "roles/iam.serviceAccountTokenCreator", members: ["allUsers"] }],
          }),
        }),
    ],
  ])("a public principal on %s is a violation", async (_, grantFor) => {
    const shape = deployedShape({ clientOpen: false });
    const grant = grantFor(shape);
    const violations = await check(...resources(shape), grant);
    expect(violations.map((violation) => violation.urn)).toEqual([grant.urn]);
  });
});

describe("runtime accounts hold only invoker grants", () => {
  const check = (...all: PolicyResource[]) =>
    violationsOfStack(runtimeAccountsHoldOnlyInvokerGrants, all);

  test("a token creator grant on the target's account for the client is a violation", async () => {
    const shape = deployedShape();
    const grant = stackResource(
      SA_MEMBER,
      "client-as-target",
      {
        serviceAccountId: shape.targetAccount.props.name,
        role: "roles/iam.serviceAccountTokenCreator",
        member: `serviceAccount:${CLIENT_EMAIL}`,
      },
      { serviceAccountId: [shape.targetAccount], member: [shape.clientAccount] },
    );
    const violations = await check(...resources(shape), grant);
    expect(violations.map((violation) => violation.message)).toEqual([
      expect.stringContaining(`grants roles on runtime account ${TARGET_EMAIL}`),
      expect.stringContaining(
        `grants roles/iam.serviceAccountTokenCreator on the serviceaccount resource it names to runtime account ${CLIENT_EMAIL}`,
      ),
    ]);
  });

  test("a grant on a runtime account named only by its e-mail is a violation", async () => {
    const shape = deployedShape();
    const grant = stackResource(SA_MEMBER, "by-email", {
      serviceAccountId: `projects/my-project/serviceAccounts/${CLIENT_EMAIL}`,
      role: "roles/iam.serviceAccountUser",
      member: "user:ops@example.com",
    });
    expect(await check(...resources(shape), grant)).toHaveLength(1);
  });

  test("a grant on another account whose e-mail merely ends like a runtime one passes", async () => {
    const shape = deployedShape();
    const grant = stackResource(SA_MEMBER, "near-miss", {
      serviceAccountId: `projects/my-project/serviceAccounts/x${CLIENT_EMAIL}`,
      role: "roles/iam.serviceAccountUser",
      member: "user:ops@example.com",
    });
    expect(await check(...resources(shape), grant)).toEqual([]);
  });

  test.each([
    ["a project role", PROJECT_MEMBER, { project: "my-project", role: "roles/logging.logWriter" }],
    [
      "a registry reader role",
      "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
      { repository: "s2s-images", role: "roles/artifactregistry.reader" },
    ],
    [
      "a bucket role",
      "gcp:storage/bucketIAMMember:BucketIAMMember",
      { bucket: "data", role: "roles/storage.objectViewer" },
    ],
    [
      "a Cloud Run role other than the invoker",
      V2_MEMBER,
      { name: "s2s-target", role: "roles/run.developer" },
    ],
  ])("%s for the client's account is a violation", async (_, type, props) => {
    const shape = deployedShape();
    const grant = stackResource(type, "extra", {
      ...props,
      member: `serviceAccount:${CLIENT_EMAIL}`,
    });
    expect(await check(...resources(shape), grant)).toHaveLength(1);
  });

  test("a member computed from a runtime account is recognised while its e-mail is unknown", async () => {
    const shape = deployedShape();
    const grant = stackResource(
      PROJECT_MEMBER,
      "unknown-yet",
      { project: "my-project", role: "roles/viewer" },
      { member: [shape.clientAccount] },
    );
    expect(await check(...resources(shape), grant)).toHaveLength(1);
  });

  test("the same role for a principal that is not a runtime account is none of this policy's business", async () => {
    const shape = deployedShape();
    const grant = stackResource(PROJECT_MEMBER, "other", {
      project: "my-project",
      role: "roles/logging.logWriter",
      member: `serviceAccount:${CLIENT_EMAIL}.other`,
    });
    expect(await check(...resources(shape), grant)).toEqual([]);
  });
});

describe("a runtime account serves one service", () => {
  const check = (...all: PolicyResource[]) =>
    violationsOfStack(runtimeAccountServesOneService, all);

  test("two services running as the same account resource are a violation", async () => {
    const shape = deployedShape();
    const reports = v2Service("reports", shape.clientAccount);
    const [violation] = await check(...resources(shape), reports);
    expect(violation?.message).toContain(
      `"s2s-client-service" and "reports-service" run as the same account ${CLIENT_EMAIL}`,
    );
  });

  test("two services naming the same e-mail are a violation", async () => {
    const first = stackResource(V2_SERVICE, "a", {
      name: "a",
      template: { serviceAccount: CLIENT_EMAIL },
    });
    const second = stackResource(V2_SERVICE, "b", {
      name: "b",
      template: { serviceAccount: CLIENT_EMAIL },
    });
    expect(await check(first, second)).toHaveLength(1);
  });
});

describe("no authoritative Cloud Run IAM", () => {
  test.each([
    "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
    "gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy",
    "gcp:cloudrun/iamBinding:IamBinding",
    "gcp:cloudrun/iamPolicy:IamPolicy",
  ])("%s is a violation", async (type) => {
    expect(await violationsOfResource(noAuthoritativeCloudRunIam, type, {}, "grant")).toEqual([
      expect.stringContaining('"grant" is an authoritative IAM'),
    ]);
  });

  test.each([V2_MEMBER, "gcp:cloudrun/iamMember:IamMember", "gcp:projects/iAMBinding:IAMBinding"])(
    "%s is not this policy's business",
    async (type) => {
      expect(await violationsOfResource(noAuthoritativeCloudRunIam, type, {}, "grant")).toEqual([]);
    },
  );
});

describe("no project-, folder- or organization-wide run or owner roles", () => {
  const check = (type: string, props: Record<string, unknown>) =>
    violationsOfResource(noBroadGrants, type, props, "grant");
  const member = "user:dev@example.com";

  test.each([
    ["roles/run.invoker", PROJECT_MEMBER, {}],
    ["roles/run.servicesInvoker", PROJECT_MEMBER, {}],
    ["roles/run.admin", PROJECT_MEMBER, {}],
    ["roles/owner", PROJECT_MEMBER, {}],
    ["roles/editor", "gcp:projects/iAMBinding:IAMBinding", { members: [member] }],
    ["roles/run.invoker", "gcp:folder/iAMMember:IAMMember", {}],
    ["roles/run.invoker", "gcp:organizations/iAMMember:IAMMember", {}],
  ])("%s through %s is a violation", async (role, type, extra) => {
    expect(await check(type, { role, member, ...extra })).toEqual([
      expect.stringMatching(new RegExp(`"grant" grants ${role.replace(".", "\\.")} on a whole`)),
    ]);
  });

  test("a policy document granting Editor on the project is a violation", async () => {
    const policyData = JSON.stringify({ bindings: [{ role: "roles/editor", members: [member] }] });
    expect(await check("gcp:projects/iAMPolicy:IAMPolicy", { policyData })).toHaveLength(1);
  });

  test("other project roles, and the invoker role on one service, pass", async () => {
    expect(await check(PROJECT_MEMBER, { role: "roles/viewer", member })).toEqual([]);
    expect(
      await check(V2_MEMBER, { role: "roles/run.invoker", member, name: "s2s-target" }),
    ).toEqual([]);
  });
});

describe("every Cloud Run service runs as a dedicated service account", () => {
  const check = (type: string, props: Record<string, unknown>) =>
    violationsOfResource(servicesRunAsDedicatedAccounts, type, props, "api-service");

  test("a v2 service without a service account is a violation", async () => {
    expect(await check(V2_SERVICE, { name: "api", template: { containers: [] } })).toEqual([
      expect.stringContaining(
        "names no service account, so it runs as the project's default compute account",
      ),
    ]);
  });

  test("a v2 service running as the default compute account is a violation", async () => {
    const props = {
      name: "api",
      template: { serviceAccount: "123456789-compute@developer.gserviceaccount.com" },
    };
    expect(await check(V2_SERVICE, props)).toEqual([
      expect.stringContaining(
        "runs as the default compute account 123456789-compute@developer.gserviceaccount.com",
      ),
    ]);
  });

  test("a v1 service without, or with the default, account is a violation", async () => {
    expect(await check(V1_SERVICE, { name: "api", template: { spec: {} } })).toHaveLength(1);
    const props = {
      name: "api",
      template: { spec: { serviceAccountName: "42-compute@developer.gserviceaccount.com" } },
    };
    expect(await check(V1_SERVICE, props)).toHaveLength(1);
  });

  test("a service with its own account passes", async () => {
    expect(
      await check(V2_SERVICE, { name: "api", template: { serviceAccount: TARGET_EMAIL } }),
    ).toEqual([]);
    const props = { name: "api", template: { spec: { serviceAccountName: TARGET_EMAIL } } };
    expect(await check(V1_SERVICE, props)).toEqual([]);
  });
});
