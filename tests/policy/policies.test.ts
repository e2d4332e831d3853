/**
 * Each policy of the pack, called directly on compliant and violating resources.
 */
import {
  POLICIES,
  noBroadInvokerGrants,
  noPublicPrincipalsOnPrivateServices,
  privateServicesKeepInvokerCheck,
  servicesRunAsDedicatedAccounts,
} from "../../policy/policies";
import { stackResource, urnOf, violationsOfResource, violationsOfStack } from "./policyArgs";

const V2_SERVICE = "gcp:cloudrunv2/service:Service";
const V1_SERVICE = "gcp:cloudrun/service:Service";
const V2_MEMBER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember";
const DEDICATED = "target@my-project.iam.gserviceaccount.com";

function v2Service(
  name: string,
  labels: Record<string, string>,
  extra: Record<string, unknown> = {},
) {
  return stackResource(V2_SERVICE, `${name}-service`, {
    name,
    location: "europe-west1",
    labels,
    template: { serviceAccount: DEDICATED },
    ...extra,
  });
}

const privateTarget = v2Service("s2s-target", { "invoker-access": "private" });
const publicClient = v2Service("s2s-client", { "invoker-access": "public" });
const unlabelled = v2Service("legacy", {});

describe("the pack", () => {
  test("makes every policy mandatory, so a violation fails the preview", () => {
    expect(POLICIES.map((policy) => policy.enforcementLevel)).toEqual(
      POLICIES.map(() => "mandatory"),
    );
    expect(new Set(POLICIES.map((policy) => policy.name)).size).toBe(POLICIES.length);
  });
});

describe("no public principal on a private Cloud Run service", () => {
  const check = (...resources: ReturnType<typeof stackResource>[]) =>
    violationsOfStack(noPublicPrincipalsOnPrivateServices, resources);

  test.each(["allUsers", "allAuthenticatedUsers"])(
    "an %s member on a private service is a violation, reported on the grant",
    async (principal) => {
      const grant = stackResource(
        V2_MEMBER,
        "target-public",
        {
          name: "s2s-target",
          location: "europe-west1",
          role: "roles/run.invoker",
          member: principal,
        },
        { name: [privateTarget] },
      );
      const violations = await check(privateTarget, grant);
      expect(violations).toEqual([
        {
          message: expect.stringContaining(
            `"target-public" grants ${principal} access to private Cloud Run service "s2s-target-service"`,
          ),
          urn: urnOf(V2_MEMBER, "target-public"),
        },
      ]);
    },
  );

  test("the service is found by name when the grant names it with a literal", async () => {
    const grant = stackResource(V2_MEMBER, "by-name", {
      name: "projects/my-project/locations/europe-west1/services/s2s-target",
      role: "roles/run.invoker",
      member: "allUsers",
    });
    expect(await check(privateTarget, grant)).toHaveLength(1);
  });

  test("bindings and policy documents, v2 and v1, are checked the same way", async () => {
    const grants = [
      stackResource("gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding", "binding", {
        name: "s2s-target",
        role: "roles/run.invoker",
        members: ["serviceAccount:a@p.iam.gserviceaccount.com", "allUsers"],
      }),
      stackResource("gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy", "policy", {
        name: "s2s-target",
        policyData: JSON.stringify({
          bindings: [{ role: "roles/run.invoker", members: ["allAuthenticatedUsers"] }],
        }),
      }),
      stackResource("gcp:cloudrun/iamMember:IamMember", "v1-member", {
        service: "s2s-target",
        role: "roles/run.invoker",
        member: "allUsers",
      }),
      stackResource("gcp:cloudrun/iamBinding:IamBinding", "v1-binding", {
        service: "s2s-target",
        role: "roles/run.invoker",
        members: ["allUsers"],
      }),
      stackResource("gcp:cloudrun/iamPolicy:IamPolicy", "v1-policy", {
        service: "s2s-target",
        policyData: JSON.stringify({ bindings: [{ role: "roles/viewer", members: ["allUsers"] }] }),
      }),
    ];
    const violations = await check(privateTarget, ...grants);
    expect(violations.map((violation) => violation.urn)).toEqual(grants.map((grant) => grant.urn));
  });

  test("a service without the label counts as private", async () => {
    const grant = stackResource(V2_MEMBER, "legacy-public", {
      name: "legacy",
      role: "roles/run.invoker",
      member: "allUsers",
    });
    expect(await check(unlabelled, grant)).toHaveLength(1);
  });

  test("a grant on a service the stack does not declare public is a violation", async () => {
    const grant = stackResource(V2_MEMBER, "elsewhere", {
      name: "somebody-elses-service",
      role: "roles/run.invoker",
      member: "allUsers",
    });
    const [violation] = await check(grant);
    expect(violation?.message).toContain("a Cloud Run service this stack does not declare public");
  });

  test("allUsers on a service labelled public is allowed", async () => {
    const grant = stackResource(
      V2_MEMBER,
      "client-public",
      { name: "s2s-client", role: "roles/run.invoker", member: "allUsers" },
      { name: [publicClient] },
    );
    expect(await check(publicClient, privateTarget, grant)).toEqual([]);
  });

  test("a service account member on a private service is allowed", async () => {
    const grant = stackResource(
      V2_MEMBER,
      "target-invoker-client",
      {
        name: "s2s-target",
        role: "roles/run.invoker",
        member: "serviceAccount:s2s-client@my-project.iam.gserviceaccount.com",
      },
      { name: [privateTarget] },
    );
    expect(await check(privateTarget, grant)).toEqual([]);
  });
});

describe("a private Cloud Run service keeps the invoker IAM check", () => {
  const check = (type: string, props: Record<string, unknown>) =>
    violationsOfResource(privateServicesKeepInvokerCheck, type, props, "target-service");

  test("invokerIamDisabled on a private v2 service is a violation", async () => {
    const violations = await check(V2_SERVICE, {
      ...privateTarget.props,
      invokerIamDisabled: true,
    });
    expect(violations).toEqual([
      expect.stringContaining(
        'Cloud Run service "target-service" is private but has the invoker IAM check disabled',
      ),
    ]);
  });

  test("the same on an unlabelled service is a violation too", async () => {
    expect(await check(V2_SERVICE, { ...unlabelled.props, invokerIamDisabled: true })).toHaveLength(
      1,
    );
  });

  test("the v1 annotation that disables the check is a violation on a private service", async () => {
    const props = {
      name: "legacy",
      metadata: { annotations: { "run.googleapis.com/invoker-iam-disabled": "true" } },
    };
    expect(await check(V1_SERVICE, props)).toHaveLength(1);
  });

  test("a public service may disable the check, and a private one that keeps it passes", async () => {
    expect(await check(V2_SERVICE, { ...publicClient.props, invokerIamDisabled: true })).toEqual(
      [],
    );
    expect(await check(V2_SERVICE, { ...privateTarget.props, invokerIamDisabled: false })).toEqual(
      [],
    );
  });
});

describe("no roles/run.invoker above a single service", () => {
  const check = (type: string, props: Record<string, unknown>) =>
    violationsOfResource(noBroadInvokerGrants, type, props, "grant");
  const client = "serviceAccount:s2s-client@my-project.iam.gserviceaccount.com";

  test.each([
    [
      "a project member granting roles/run.invoker",
      "gcp:projects/iAMMember:IAMMember",
      { role: "roles/run.invoker", member: client },
    ],
    [
      "a project binding granting roles/run.invoker",
      "gcp:projects/iAMBinding:IAMBinding",
      { role: "roles/run.invoker", members: [client] },
    ],
    [
      "a project policy granting roles/run.invoker",
      "gcp:projects/iAMPolicy:IAMPolicy",
      {
        policyData: JSON.stringify({
          bindings: [{ role: "roles/run.invoker", members: [client] }],
        }),
      },
    ],
    [
      "a project member granting roles/run.servicesInvoker",
      "gcp:projects/iAMMember:IAMMember",
      { role: "roles/run.servicesInvoker", member: client },
    ],
    [
      "a folder member granting roles/run.invoker",
      "gcp:folder/iAMMember:IAMMember",
      { role: "roles/run.invoker", member: client },
    ],
    [
      "an organization binding granting roles/run.invoker",
      "gcp:organizations/iAMBinding:IAMBinding",
      { role: "roles/run.invoker", members: [client] },
    ],
  ])("%s is a violation", async (_, type, props) => {
    const violations = await check(type, props);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(/"grant" grants roles\/run\.(services)?[iI]nvoker on a whole/);
  });

  test("other roles at project level, and the invoker role on one service, pass", async () => {
    expect(
      await check("gcp:projects/iAMMember:IAMMember", { role: "roles/viewer", member: client }),
    ).toEqual([]);
    expect(
      await check(V2_MEMBER, { role: "roles/run.invoker", member: client, name: "s2s-target" }),
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
    expect(await check(V2_SERVICE, privateTarget.props)).toEqual([]);
    const props = { name: "api", template: { spec: { serviceAccountName: DEDICATED } } };
    expect(await check(V1_SERVICE, props)).toEqual([]);
  });
});
