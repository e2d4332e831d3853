/**
 * The security shape of the deployed stack, checked on what the program asks the engine for,
 * under every configuration that could plausibly weaken it.
 */
import { PUBLIC_PRINCIPALS } from "../../policy/contract";
import { TOPOLOGY, invokersOf, isPublic, serviceAccountId } from "../../services/topology";
import {
  GCP_PROJECT,
  type Registration,
  type StackRun,
  TYPES,
  envOf,
  runStack,
  valueOf,
} from "../helpers/pulumiMocks";

/** Configurations that change who can reach what; the rules below must hold under each. */
const CONFIGURATIONS: Record<string, Record<string, string>> = {
  defaults: {},
  "public client through an allUsers grant": { publicAccess: "all-users" },
  "custom audience": { customAudience: "https://target.example.com" },
  "internal target ingress": { targetIngress: "internal", clientVpcSubnet: "run-egress" },
  "token in X-Serverless-Authorization": { tokenHeader: "x-serverless-authorization" },
  "deletion protection": { deletionProtection: "true" },
  "another name prefix": { namePrefix: "demo" },
};

/** Every IAM resource type that can grant a role on a Cloud Run service, v2 and v1. */
const CLOUD_RUN_IAM_TYPES = [
  "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
  "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
  "gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy",
  "gcp:cloudrun/iamMember:IamMember",
  "gcp:cloudrun/iamBinding:IamBinding",
  "gcp:cloudrun/iamPolicy:IamPolicy",
];

const runs = new Map<string, StackRun>();

beforeAll(async () => {
  for (const [label, config] of Object.entries(CONFIGURATIONS)) {
    runs.set(label, await runStack(config));
  }
});

function run(label: string): StackRun {
  const found = runs.get(label);
  if (found === undefined) throw new Error(`no run for ${label}`);
  return found;
}

/** The Cloud Run service registered for a declared service (the component's child). */
function cloudRunService({ engine }: StackRun, service: string): Registration {
  return engine.named(TYPES.runService, `${service}-service`);
}

/** IAM resources of any kind whose service reference names `serviceName`. */
function grantsOn({ engine }: StackRun, serviceName: string): Registration[] {
  return engine.registrations.filter(
    (registration) =>
      CLOUD_RUN_IAM_TYPES.includes(registration.type) &&
      (registration.inputs.name === serviceName || registration.inputs.service === serviceName),
  );
}

function principalsOf(grant: Registration): string[] {
  const { member, members } = grant.inputs as { member?: string; members?: string[] };
  return [...(member === undefined ? [] : [member]), ...(members ?? [])];
}

const privateServices = Object.keys(TOPOLOGY).filter((service) => !isPublic(TOPOLOGY, service));
const labels = Object.keys(CONFIGURATIONS);

describe("the private target", () => {
  test("is the one service the declaration makes private", () => {
    expect(privateServices).toEqual(["target"]);
  });

  test.each(labels)(
    "has no allUsers or allAuthenticatedUsers grant and keeps the invoker IAM check on (%s)",
    (label) => {
      const target = cloudRunService(run(label), "target");
      expect(target.inputs.invokerIamDisabled).toBe(false);
      const principals = grantsOn(run(label), target.inputs.name as string).flatMap(principalsOf);
      for (const principal of PUBLIC_PRINCIPALS) expect(principals).not.toContain(principal);
    },
  );

  test.each(labels)(
    "grants roles/run.invoker to the client's service account only, once, with its location (%s)",
    async (label) => {
      const target = cloudRunService(run(label), "target");
      const grants = grantsOn(run(label), target.inputs.name as string);
      const clientEmail = await valueOf(run(label).outputs.clientServiceAccount!);

      expect(grants).toHaveLength(1);
      expect(grants[0]!.type).toBe(TYPES.runServiceMember);
      expect(grants[0]!.inputs).toMatchObject({
        role: "roles/run.invoker",
        member: `serviceAccount:${clientEmail}`,
        location: target.inputs.location,
      });
    },
  );

  test.each(labels)(
    "trusts Cloud Run's front end and allows exactly the client's account in the app (%s)",
    async (label) => {
      const target = cloudRunService(run(label), "target");
      const clientAccount = run(label).engine.named(TYPES.account, "client-account");
      const clientEmail = await valueOf(run(label).outputs.clientServiceAccount!);
      expect(envOf(target).AUTH_MODE).toBe("cloud-run");
      expect(envOf(target).ALLOWED_INVOKERS).toBe(clientEmail);
      expect(target.propertyDependencies.template).toContain(clientAccount.urn);
    },
  );
});

describe("the whole stack", () => {
  test.each(labels)(
    "creates one invoker grant per declared invoker and no other grant (%s)",
    (label) => {
      const declaredGrants = privateServices.flatMap((service) => invokersOf(TOPOLOGY, service));
      const publicGrants = label === "public client through an allUsers grant" ? 1 : 0;
      const grants = run(label).engine.registrations.filter((registration) =>
        CLOUD_RUN_IAM_TYPES.includes(registration.type),
      );
      expect(grants).toHaveLength(declaredGrants.length + publicGrants);
    },
  );

  test.each(labels)("has no project-, folder- or organization-level IAM resource (%s)", (label) => {
    const broad = run(label).engine.registrations.filter((registration) =>
      /^gcp:(projects|folder|organizations)\/iAM/.test(registration.type),
    );
    expect(broad).toEqual([]);
  });

  test.each(labels)(
    "runs each service as its own dedicated service account, never the default compute one (%s)",
    (label) => {
      const prefix = CONFIGURATIONS[label]!.namePrefix ?? "s2s";
      const runAs = Object.keys(TOPOLOGY).map((service) => {
        const cloudRun = cloudRunService(run(label), service);
        const account = run(label).engine.named(TYPES.account, `${service}-account`);
        const email = (cloudRun.inputs.template as { serviceAccount: string }).serviceAccount;

        expect(account.parent).toBe(cloudRun.parent);
        expect(account.inputs.accountId).toBe(serviceAccountId(prefix, service));
        expect(email).toBe(
          `${serviceAccountId(prefix, service)}@${GCP_PROJECT}.iam.gserviceaccount.com`,
        );
        expect(email).not.toMatch(/-compute@developer\.gserviceaccount\.com$/);
        return email;
      });
      expect(new Set(runAs).size).toBe(Object.keys(TOPOLOGY).length);
    },
  );

  test.each(labels)("never deploys a service with AUTH_MODE=none (%s)", (label) => {
    for (const service of Object.keys(TOPOLOGY)) {
      const authMode = envOf(cloudRunService(run(label), service)).AUTH_MODE;
      expect(authMode).not.toBe("none");
      if (!isPublic(TOPOLOGY, service)) expect(authMode).toBe("cloud-run");
    }
  });

  test("opens the client to allUsers only when publicAccess is all-users, leaving the target private", () => {
    const allUsersRun = run("public client through an allUsers grant");
    const client = cloudRunService(allUsersRun, "client");
    expect(client.inputs.invokerIamDisabled).toBe(false);
    expect(grantsOn(allUsersRun, client.inputs.name as string).flatMap(principalsOf)).toEqual([
      "allUsers",
    ]);
    expect(grantsOn(run("defaults"), "s2s-client")).toEqual([]);
  });
});
