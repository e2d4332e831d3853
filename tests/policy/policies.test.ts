/**
 * Each policy of the pack, called directly on compliant and violating resources, including the
 * near misses that must not slip through.
 */
import type { PolicyResource } from "@pulumi/policy";
import { cloudRunIamGrantsOnlyInvoker } from "../../policy/rules/cloudRunIamGrantsOnlyInvoker";
import { iamOnlyOnCloudRunServices } from "../../policy/rules/iamOnlyOnCloudRunServices";
import { ingressAllOrInternalOnly } from "../../policy/rules/ingressAllOrInternalOnly";
import { ingressFollowsTheCall } from "../../policy/rules/ingressFollowsTheCall";
import { noAuthoritativeCloudRunIam } from "../../policy/rules/noAuthoritativeCloudRunIam";
import { noGrantsToDefaultComputeAccount } from "../../policy/rules/noGrantsToDefaultComputeAccount";
import { publicPrincipalsOnlyInvokePublicServices } from "../../policy/rules/publicPrincipalsOnlyInvokePublicServices";
import { runtimeAccountServesOneService } from "../../policy/rules/runtimeAccountServesOneService";
import { servicesRunAsDedicatedAccounts } from "../../policy/rules/servicesRunAsDedicatedAccounts";
import { targetInvokedOnlyByItsCaller } from "../../policy/rules/targetInvokedOnlyByItsCaller";
import { targetsKeepInvokerCheck } from "../../policy/rules/targetsKeepInvokerCheck";
import { stackIntent } from "../../policy/stackIntent";
import { PULUMI_PROJECT, TYPES, UNKNOWN } from "../helpers/pulumiMocks";
import {
  googleProvider,
  policiesWith,
  stackResource,
  urnOf,
  violationsOfResource,
  violationsOfStack,
} from "./policyArgs";

const { runService: V2_SERVICE, runServiceMember: V2_MEMBER, account: ACCOUNT } = TYPES;
const V1_SERVICE = "gcp:cloudrun/service:Service";
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
      ingress: "INGRESS_TRAFFIC_ALL",
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

type Shape = ReturnType<typeof deployedShape>;

function resources(shape: Shape): PolicyResource[] {
  return Object.values(shape);
}

/** The deployed shape without the caller's grant, for a test that brings its own. */
function withoutGrant(shape: Shape): PolicyResource[] {
  return [shape.targetAccount, shape.clientAccount, shape.target, shape.client];
}

/** A violation whose message contains `text`, reported on any resource. */
function violationSaying(text: string) {
  return expect.objectContaining({ message: expect.stringContaining(text) });
}

/** What the configuration of the shape above says: prefix s2s in my-project, ingress all. */
const INTENT = stackIntent(
  {
    "cloud-run-private-calls:namePrefix": "s2s",
    "cloud-run-private-calls:targetIngress": "all",
    "gcp:project": "my-project",
  },
  PULUMI_PROJECT,
);

test("every policy of the pack is mandatory, but the advisory one on the target's own token check, and named once", () => {
  const policies = policiesWith(INTENT);
  expect(policies.map((policy) => policy.enforcementLevel)).toEqual(
    policies.map((policy) =>
      policy.name === "cloud-run-target-verifies-tokens" ? "advisory" : "mandatory",
    ),
  );
  expect(new Set(policies.map((policy) => policy.name)).size).toBe(policies.length);
});

test("the deployed shape passes every policy, given the configuration it was deployed with", async () => {
  const shape = resources(deployedShape());
  for (const policy of policiesWith(INTENT)) {
    if ("validateStack" in policy) expect(await violationsOfStack(policy, shape)).toEqual([]);
    else {
      for (const resource of shape) {
        expect(
          await violationsOfResource(policy, resource.type, resource.props, resource.name),
        ).toEqual([]);
      }
    }
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

  test.each<[string, (shape: Shape) => PolicyResource]>([
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

/**
 * The shape as a first preview sees it: the accounts' e-mails, and everything computed from
 * them, unknown; only account ids, names and the provider's project are known.
 */
function previewShape(project = "my-project") {
  const provider = googleProvider(project);
  const previewAccount = (name: string, accountId: string) =>
    stackResource(ACCOUNT, name, { accountId, email: UNKNOWN, name: UNKNOWN }, {}, provider);
  const targetAccount = previewAccount("target-account", "s2s-target");
  const clientAccount = previewAccount("client-account", "s2s-client");
  const previewService = (
    name: string,
    runAs: PolicyResource,
    extra: Record<string, unknown>,
    calls: PolicyResource[] = [],
  ) =>
    stackResource(
      V2_SERVICE,
      `${name}-service`,
      { name, ingress: "INGRESS_TRAFFIC_ALL", template: { serviceAccount: UNKNOWN }, ...extra },
      { template: [runAs, ...calls] },
      provider,
    );
  const target = previewService("s2s-target", targetAccount, { invokerIamDisabled: false });
  const client = previewService("s2s-client", clientAccount, { invokerIamDisabled: true }, [
    target,
  ]);
  return { targetAccount, clientAccount, target, client };
}

describe("a target is invoked only by its caller", () => {
  const check = (...all: PolicyResource[]) => violationsOfStack(targetInvokedOnlyByItsCaller, all);

  /**
   * A grant on the target: what it names, the deployed shape it joins (with or without the
   * caller's grant), its member, what that is computed from, and what the violation says.
   */
  type Invoker = [
    string,
    (shape: Shape) => PolicyResource[],
    string,
    (shape: Shape) => PolicyResource[],
    string,
  ];

  test.each<Invoker>([
    [
      "the target's own account computed from its account resource, as the only invoker,",
      withoutGrant,
      `serviceAccount:${TARGET_EMAIL}`,
      (shape) => [shape.targetAccount],
      "names the target's own account",
    ],
    [
      "the target's own account spelled as an e-mail, as the only invoker,",
      withoutGrant,
      `serviceAccount:${TARGET_EMAIL}`,
      () => [],
      "names the target's own account",
    ],
    [
      "the default compute account as the only invoker",
      withoutGrant,
      "serviceAccount:123456789012-compute@developer.gserviceaccount.com",
      () => [],
      "names the default compute account",
    ],
    [
      "an e-mail that merely starts like the caller's, as the only invoker,",
      withoutGrant,
      `serviceAccount:${CLIENT_EMAIL}.evil`,
      () => [],
      "which is not the account of a service that calls",
    ],
    [
      "a second invoker beside the caller's grant",
      resources,
      "user:ops@example.com",
      () => [],
      "names user:ops@example.com, which is not the account of a service that calls",
    ],
    [
      "the caller's account granted again beside the caller's grant",
      resources,
      `serviceAccount:${CLIENT_EMAIL}`,
      (shape) => [shape.clientAccount],
      "is a second invoker grant",
    ],
  ])("%s is a violation reported on that grant alone", async (_, joins, member, from, says) => {
    const shape = deployedShape();
    const grant = invokerMember("grant", shape.target, member, from(shape));
    expect(await check(...joins(shape), grant)).toEqual([
      { message: expect.stringContaining(says), urn: grant.urn },
    ]);
  });

  /** What the policy reports on a first preview's shape with one more invoker grant on the target. */
  const withGrant = (
    shape: ReturnType<typeof previewShape>,
    member: string,
    memberFrom: PolicyResource[] = [],
  ) => check(...Object.values(shape), invokerMember("grant", shape.target, member, memberFrom));

  test("on a first preview, the caller's account by dependency passes and the target's e-mail spelled out is refused", async () => {
    const shape = previewShape();
    expect(await withGrant(shape, UNKNOWN, [shape.clientAccount])).toEqual([]);
    expect(await withGrant(shape, `serviceAccount:${TARGET_EMAIL}`)).toEqual([
      violationSaying("names the target's own account"),
    ]);
  });

  test("in a domain-scoped project, the caller's e-mail as Google forms it passes, the colon form does not", async () => {
    const shape = previewShape("example.com:my-project");
    const right = "serviceAccount:s2s-client@my-project.example.com.iam.gserviceaccount.com";
    expect(await withGrant(shape, right)).toEqual([]);
    const colon = "serviceAccount:s2s-client@example.com:my-project.iam.gserviceaccount.com";
    expect(await withGrant(shape, colon)).toEqual([
      violationSaying("not the account of a service that calls"),
    ]);
  });

  test("with the project unknown to the pack, the target's id in any project counts as the target's account", async () => {
    const elsewhere = "serviceAccount:s2s-target@elsewhere.iam.gserviceaccount.com";
    expect(await withGrant(previewShape(""), elsewhere)).toEqual([
      violationSaying("names the target's own account"),
    ]);
  });
});

describe("ingress follows the call", () => {
  const check = (...all: PolicyResource[]) => violationsOfStack(ingressFollowsTheCall, all);
  const vpc = (egress: unknown) => ({
    vpcAccess: { networkInterfaces: [{ subnetwork: "run-egress" }], egress },
  });
  const shapeWith = (
    targetIngress: string,
    clientEgress?: unknown,
    clientIngress = "INGRESS_TRAFFIC_ALL",
  ) => {
    const shape = deployedShape();
    const target = v2Service("s2s-target", shape.targetAccount, { ingress: targetIngress });
    const client = v2Service(
      "s2s-client",
      shape.clientAccount,
      {
        ingress: clientIngress,
        template: {
          serviceAccount: CLIENT_EMAIL,
          ...(clientEgress === undefined ? {} : vpc(clientEgress)),
        },
      },
      [target],
    );
    return [shape.targetAccount, shape.clientAccount, target, client];
  };

  test("a target reached only through the VPC, with internal-only ingress, passes", async () => {
    expect(await check(...shapeWith("INGRESS_TRAFFIC_INTERNAL_ONLY", "ALL_TRAFFIC"))).toEqual([]);
  });

  test("a target reached only through the VPC, open to all traffic, is a violation", async () => {
    expect(await check(...shapeWith("INGRESS_TRAFFIC_ALL", "ALL_TRAFFIC"))).toEqual([
      violationSaying('"s2s-target-service" is called only through a VPC'),
    ]);
  });

  test("a caller whose egress is not known at preview counts as going through the VPC", async () => {
    expect(await check(...shapeWith("INGRESS_TRAFFIC_ALL", UNKNOWN))).toHaveLength(1);
  });

  test("a caller that sends only private ranges through the VPC leaves the target free to take all traffic", async () => {
    expect(await check(...shapeWith("INGRESS_TRAFFIC_ALL", "PRIVATE_RANGES_ONLY"))).toEqual([]);
  });

  test.each(["INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"])(
    "a caller with ingress %s is a violation",
    async (ingress) => {
      expect(await check(...shapeWith("INGRESS_TRAFFIC_ALL", undefined, ingress))).toEqual([
        violationSaying('"s2s-client-service" calls "s2s-target-service" but its ingress is'),
      ]);
    },
  );
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

  test("on a first preview, a service naming the e-mail derived from another's account id shares that account", async () => {
    const shape = previewShape();
    const reports = stackResource(V2_SERVICE, "reports", {
      name: "reports",
      template: { serviceAccount: CLIENT_EMAIL },
    });
    const [violation] = await check(...Object.values(shape), reports);
    expect(violation?.message).toContain(
      '"s2s-client-service" and "reports" run as the same account',
    );
    const elsewhere = stackResource(V2_SERVICE, "elsewhere", {
      name: "elsewhere",
      template: { serviceAccount: "s2s-client@other-project.iam.gserviceaccount.com" },
    });
    expect(await check(...Object.values(shape), elsewhere)).toEqual([]);
  });

  test("a service whose unknown account was computed from no account resource of the stack is a violation", async () => {
    const orphan = stackResource(V2_SERVICE, "orphan", {
      name: "orphan",
      template: { serviceAccount: UNKNOWN },
    });
    expect(await check(orphan)).toEqual([
      {
        message: expect.stringContaining(
          '"orphan" runs as an account computed from no service account',
        ),
        urn: orphan.urn,
      },
    ]);
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

describe("IAM only on Cloud Run services", () => {
  const check = (type: string, props: Record<string, unknown>) =>
    violationsOfResource(iamOnlyOnCloudRunServices, type, props, "grant");
  const member = "user:dev@example.com";

  test.each([
    ["roles/run.invoker", PROJECT_MEMBER, { project: "my-project" }, "a whole project"],
    ["roles/viewer", PROJECT_MEMBER, { project: "my-project" }, "a whole project"],
    [
      "roles/editor",
      "gcp:projects/iAMBinding:IAMBinding",
      { members: [member] },
      "a whole project",
    ],
    ["roles/run.invoker", "gcp:folder/iAMMember:IAMMember", {}, "a whole folder"],
    ["roles/run.invoker", "gcp:organizations/iAMMember:IAMMember", {}, "a whole organization"],
    [
      "roles/iam.serviceAccountUser",
      SA_MEMBER,
      { serviceAccountId: `projects/p/serviceAccounts/${TARGET_EMAIL}` },
      "a service account",
    ],
    [
      "roles/artifactregistry.reader",
      "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
      { repository: "s2s-images" },
      "the artifactregistry resource",
    ],
    [
      "roles/storage.objectViewer",
      "gcp:storage/bucketIAMMember:BucketIAMMember",
      { bucket: "data" },
      "the storage resource",
    ],
  ])("%s through %s is a violation", async (role, type, extra, where) => {
    expect(await check(type, { role, member, ...extra })).toEqual([
      expect.stringContaining(`"grant" grants ${role} on ${where}`),
    ]);
  });

  test("a policy document on the project is a violation, whatever it grants", async () => {
    const policyData = JSON.stringify({ bindings: [{ role: "roles/viewer", members: [member] }] });
    expect(await check("gcp:projects/iAMPolicy:IAMPolicy", { policyData })).toHaveLength(1);
  });

  test("a grant whose member is not known at preview is judged by where it grants", async () => {
    expect(
      await check(PROJECT_MEMBER, { project: "p", role: "roles/viewer", member: UNKNOWN }),
    ).toHaveLength(1);
  });

  test.each([V2_MEMBER, "gcp:cloudrun/iamMember:IamMember"])(
    "an invoker grant through %s is not this policy's business",
    async (type) => {
      expect(await check(type, { role: "roles/run.invoker", member, name: "s2s-target" })).toEqual(
        [],
      );
    },
  );
});

describe("Cloud Run IAM grants only the invoker role", () => {
  const check = (type: string, props: Record<string, unknown>) =>
    violationsOfResource(cloudRunIamGrantsOnlyInvoker, type, props, "grant");
  const member = `serviceAccount:${CLIENT_EMAIL}`;

  test.each(["roles/run.invoker", "roles/run.servicesInvoker"])("%s passes", async (role) => {
    expect(await check(V2_MEMBER, { name: "s2s-target", role, member })).toEqual([]);
  });

  test.each([
    "roles/run.developer",
    "roles/run.admin",
    "roles/run.invoker ",
    "roles/run.invokerx",
    "roles/Run.Invoker",
  ])("%s on a Cloud Run service is a violation", async (role) => {
    expect(await check(V2_MEMBER, { name: "s2s-target", role, member })).toEqual([
      expect.stringContaining(`"grant" grants ${role} on a Cloud Run service`),
    ]);
  });

  test("a role not known at preview is a violation", async () => {
    expect(await check(V2_MEMBER, { name: "s2s-target", role: UNKNOWN, member })).toEqual([
      expect.stringContaining("grants a role not known at preview"),
    ]);
  });

  test("a policy document not known at preview is a violation", async () => {
    expect(
      await check("gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy", {
        name: "s2s-target",
        policyData: UNKNOWN,
      }),
    ).toHaveLength(1);
  });
});

describe("nothing is granted to the default compute account", () => {
  const check = (type: string, props: Record<string, unknown>) =>
    violationsOfResource(noGrantsToDefaultComputeAccount, type, props, "grant");

  test.each([
    [V2_MEMBER, { member: "serviceAccount:123456789012-compute@developer.gserviceaccount.com" }],
    [
      "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
      {
        members: ["user:a@example.com", "serviceAccount:42-compute@developer.gserviceaccount.com"],
      },
    ],
  ])("a grant to it through %s is a violation", async (type, props) => {
    expect(await check(type, { name: "s2s-target", role: "roles/run.invoker", ...props })).toEqual([
      expect.stringContaining("to the default compute account"),
    ]);
  });

  test.each([
    `serviceAccount:${CLIENT_EMAIL}`,
    "serviceAccount:x123456789012-compute@developer.gserviceaccount.com",
    "serviceAccount:123456789012-compute@developer.gserviceaccount.com.evil",
    "user:123456789012-compute@developer.gserviceaccount.com",
    UNKNOWN,
  ])("a grant to %s is not this policy's business", async (member) => {
    expect(
      await check(V2_MEMBER, { name: "s2s-target", role: "roles/run.invoker", member }),
    ).toEqual([]);
  });
});

describe("every Cloud Run service sets its ingress to all or internal-only", () => {
  const check = (type: string, props: Record<string, unknown>) =>
    violationsOfResource(ingressAllOrInternalOnly, type, props, "api-service");

  test.each(["INGRESS_TRAFFIC_ALL", "INGRESS_TRAFFIC_INTERNAL_ONLY"])(
    "%s passes",
    async (ingress) => {
      expect(await check(V2_SERVICE, { name: "api", ingress })).toEqual([]);
    },
  );

  test.each([
    ["the load-balancer setting", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"],
    ["a trailing space", "INGRESS_TRAFFIC_ALL "],
    ["lower case", "ingress_traffic_all"],
    ["a prefix", "INGRESS_TRAFFIC_INTERNAL"],
    ["no value", undefined],
    ["a value not known at preview", UNKNOWN],
  ])("%s is a violation", async (_, ingress) => {
    expect(
      await check(V2_SERVICE, { name: "api", ...(ingress === undefined ? {} : { ingress }) }),
    ).toEqual([expect.stringContaining('Cloud Run service "api-service" has ingress')]);
  });

  test("a v1 service is judged by its ingress annotation, which defaults to all", async () => {
    const annotated = (ingress: string) => ({
      metadata: { annotations: { "run.googleapis.com/ingress": ingress } },
    });
    expect(await check(V1_SERVICE, { name: "api" })).toEqual([]);
    expect(await check(V1_SERVICE, annotated("internal"))).toEqual([]);
    expect(await check(V1_SERVICE, annotated("internal-and-cloud-load-balancing"))).toHaveLength(1);
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

  test("a service whose account is not known at preview is left to the stack policies, and not skipped", async () => {
    expect(await check(V2_SERVICE, { name: "api", template: { serviceAccount: UNKNOWN } })).toEqual(
      [],
    );
  });

  test("a service with its own account passes", async () => {
    expect(
      await check(V2_SERVICE, { name: "api", template: { serviceAccount: TARGET_EMAIL } }),
    ).toEqual([]);
    const props = { name: "api", template: { spec: { serviceAccountName: TARGET_EMAIL } } };
    expect(await check(V1_SERVICE, props)).toEqual([]);
  });
});
