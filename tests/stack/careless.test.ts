/**
 * Careless edits to index.ts and the components, each of which opens a hole, and proof that
 * both guards catch it, both as `pulumi up` runs the program and as a first `pulumi preview`
 * does (every computed output still unknown): the stack's own security-shape check (so `npm
 * test` fails) and the policy pack (so `pulumi preview --policy-pack policy` fails, with a
 * refusal rather than a policy skipped for want of a value). Under `pulumi up` the pack must
 * refuse with a resource policy, which runs before the resource is created: a stack policy runs
 * only once everything exists, and what it refuses then stays.
 *
 * Each edit is applied to a copy of the program (index.ts and components/), which then runs
 * under the mocked engine exactly as the original does; the copies live in a git-ignored
 * directory for the test's duration.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { MODES, type StackRun, runStack } from "../helpers/pulumiMocks";
import { isRefusal, type PackReport, packReports } from "../policy/policyArgs";
import { securityShapeViolations } from "./securityShape";

const ROOT = join(__dirname, "..", "..");
const COPIES = join(ROOT, ".careless");
/** The program's own files, which an edit may change; everything else is imported as is. */
const PROGRAM_FILES = [
  "index.ts",
  ...readdirSync(join(ROOT, "components"))
    .filter((file) => file.endsWith(".ts"))
    .map((file) => `components/${file}`),
];
/** Where appended lines go: just before the program returns its outputs. */
const RETURN = "\n  return {\n";
const INTERNAL_TARGET = { targetIngress: "internal", clientVpcSubnet: "run-egress" };

interface CarelessEdit {
  /** What the edit does, as a reviewer would describe it. */
  title: string;
  /** The file edited; index.ts unless said. */
  file?: string;
  /** Lines added to index.ts, before its outputs. */
  append?: string;
  /** Or a change to a line that is already there: [existing text, replacement]. */
  replace?: [string, string];
  /** The stack's config the edit is tried under, when not the defaults. */
  config?: Record<string, string>;
  /**
   * Why the policy pack cannot see this edit, when it cannot: the stack's tests are then its
   * only guard.
   */
  packBlindBecause?: string;
}

const EDITS: CarelessEdit[] = [
  {
    title: "an allUsers invoker grant on the target",
    append: `new gcp.cloudrunv2.ServiceIamMember("target-public", { name: target.service.name, location: target.service.location, role: "roles/run.invoker", member: "allUsers" });`,
  },
  {
    title: "an allAuthenticatedUsers invoker grant on the target",
    append: `new gcp.cloudrunv2.ServiceIamMember("target-google", { name: target.service.name, location: target.service.location, role: "roles/run.invoker", member: "allAuthenticatedUsers" });`,
  },
  {
    title: "the target opened by switching its invoker check off",
    replace: [
      "serviceAccount: targetAccount,",
      `serviceAccount: targetAccount, publicAccess: "invoker-iam-disabled",`,
    ],
  },
  {
    title: "the target opened through the component's allUsers grant",
    replace: [
      "serviceAccount: targetAccount,",
      `serviceAccount: targetAccount, publicAccess: "all-users",`,
    ],
  },
  {
    title: "a public reader on the image repository",
    append: `new gcp.artifactregistry.RepositoryIamMember("images-public", { repository: registry.name, location: registry.location, role: "roles/artifactregistry.reader", member: "allUsers" });`,
  },
  {
    title:
      "the client allowed to mint tokens as the target (token creator on the target's account)",
    append: `new gcp.serviceaccount.IAMMember("client-as-target", { serviceAccountId: target.serviceAccount.name, role: "roles/iam.serviceAccountTokenCreator", member: clientAccount.member });`,
  },
  {
    title: "the client allowed to mint tokens as itself",
    append: `new gcp.serviceaccount.IAMMember("client-as-client", { serviceAccountId: clientAccount.name, role: "roles/iam.serviceAccountTokenCreator", member: clientAccount.member });`,
  },
  {
    title: "the target allowed to act as the client",
    append: `new gcp.serviceaccount.IAMMember("target-as-client", { serviceAccountId: clientAccount.name, role: "roles/iam.serviceAccountUser", member: target.serviceAccount.member });`,
  },
  {
    title: "an authoritative binding on the client's account for an operator",
    append: `new gcp.serviceaccount.IAMBinding("client-users", { serviceAccountId: clientAccount.name, role: "roles/iam.serviceAccountUser", members: ["user:ops@example.com"] });`,
  },
  {
    title: "everyone allowed to mint tokens as the client",
    append: `new gcp.serviceaccount.IAMMember("client-public", { serviceAccountId: clientAccount.name, role: "roles/iam.serviceAccountTokenCreator", member: "allUsers" });`,
  },
  {
    title: "the invoker role for the client's account on the whole project",
    append: `new gcp.projects.IAMMember("client-project-invoker", { project: config.project, role: "roles/run.invoker", member: clientAccount.member });`,
  },
  {
    title: "a harmless-looking project role (log writer) for the target's account",
    append: `new gcp.projects.IAMMember("target-logs", { project: config.project, role: "roles/logging.logWriter", member: target.serviceAccount.member });`,
  },
  {
    title: "a registry reader role for the client's account",
    append: `new gcp.artifactregistry.RepositoryIamMember("client-reads-images", { repository: registry.name, location: registry.location, role: "roles/artifactregistry.reader", member: clientAccount.member });`,
  },
  {
    title: "Editor on the project for a developer",
    append: `new gcp.projects.IAMMember("dev-editor", { project: config.project, role: "roles/editor", member: "user:dev@example.com" });`,
  },
  {
    title: "run.admin on the project for a developer",
    append: `new gcp.projects.IAMMember("dev-run-admin", { project: config.project, role: "roles/run.admin", member: "user:dev@example.com" });`,
  },
  {
    title: "a public viewer on the project",
    append: `new gcp.projects.IAMMember("public-viewer", { project: config.project, role: "roles/viewer", member: "allUsers" });`,
  },
  {
    title: "the invoker role for the client's account on a folder",
    append: `new gcp.folder.IAMMember("folder-invoker", { folder: "folders/1234567890", role: "roles/run.invoker", member: clientAccount.member });`,
  },
  {
    title: "the invoker role for the client's account on the organization",
    append: `new gcp.organizations.IAMMember("org-invoker", { orgId: "1234567890", role: "roles/run.invoker", member: clientAccount.member });`,
  },
  {
    title: "an authoritative invoker binding on the target",
    append: `new gcp.cloudrunv2.ServiceIamBinding("target-invokers", { name: target.service.name, location: target.service.location, role: "roles/run.invoker", members: [clientAccount.member] });`,
  },
  {
    title: "an authoritative IAM policy on the target",
    append: `new gcp.cloudrunv2.ServiceIamPolicy("target-policy", { name: target.service.name, location: target.service.location, policyData: clientAccount.member.apply((member) => JSON.stringify({ bindings: [{ role: "roles/run.invoker", members: [member] }] })) });`,
  },
  {
    title: "a second service running as the client's account",
    append: `new gcp.cloudrunv2.Service("reports", { name: "reports", location: config.region, template: { serviceAccount: clientAccount.email, containers: [{ image: "us-docker.pkg.dev/cloudrun/container/hello" }] } });`,
  },

  {
    title:
      "internal ingress mapped to the load-balancer setting, which external load balancers reach",
    file: "components/cloudRunService.ts",
    replace: [
      'internal: "INGRESS_TRAFFIC_INTERNAL_ONLY",',
      'internal: "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",',
    ],
    config: INTERNAL_TARGET,
  },
  {
    title: 'the target\'s ingress hard-coded to "all" while targetIngress says internal',
    replace: ["ingress: config.targetIngress,", 'ingress: "all",'],
    config: INTERNAL_TARGET,
  },
  {
    title: "the client made internal-only, so nobody outside the VPC reaches it",
    replace: ['ingress: "all",', 'ingress: "internal",'],
  },
  {
    title: "the invoker grant given to the target's own account",
    replace: [
      'role: "roles/run.invoker",\n      member: clientAccount.member,',
      'role: "roles/run.invoker",\n      member: targetAccount.member,',
    ],
  },
  {
    title: "the invoker grant given to the target's own account, spelled as an e-mail string",
    replace: [
      'role: "roles/run.invoker",\n      member: clientAccount.member,',
      'role: "roles/run.invoker",\n      member: `serviceAccount:${accounts.target.email}`,',
    ],
  },
  {
    title:
      "the invoker grant given to the target's own account by e-mail string, in a domain-scoped project",
    replace: [
      'role: "roles/run.invoker",\n      member: clientAccount.member,',
      'role: "roles/run.invoker",\n      member: `serviceAccount:${accounts.target.email}`,',
    ],
    config: { "gcp:project": "example.com:my-project" },
  },
  {
    title: "the invoker grant given to the project's default compute account",
    replace: [
      'role: "roles/run.invoker",\n      member: clientAccount.member,',
      'role: "roles/run.invoker",\n      member: pulumi.interpolate`serviceAccount:${gcp.organizations.getProjectOutput().number}-compute@developer.gserviceaccount.com`,',
    ],
  },
  {
    title: "an extra invoker grant with which the target invokes itself",
    append: `new gcp.cloudrunv2.ServiceIamMember("target-invoker-self", { name: target.service.name, location: target.service.location, role: "roles/run.invoker", member: target.serviceAccount.member });`,
  },
  {
    title: "a second invoker on the target, an operator",
    append: `new gcp.cloudrunv2.ServiceIamMember("target-invoker-operator", { name: target.service.name, location: target.service.location, role: "roles/run.invoker", member: "user:ops@example.com" });`,
  },
  {
    title: "a service-account user grant on the target's account, named by its e-mail string",
    append: `new gcp.serviceaccount.IAMMember("deployer-acts-as-target", { serviceAccountId: \`projects/\${config.project}/serviceAccounts/\${accounts.target.email}\`, role: "roles/iam.serviceAccountUser", member: "user:deployer@example.com" });`,
  },
  {
    title: "a project-level secret accessor for the target's account, named by its e-mail string",
    append: `new gcp.projects.IAMMember("target-reads-secrets", { project: config.project, role: "roles/secretmanager.secretAccessor", member: \`serviceAccount:\${accounts.target.email}\` });`,
  },
  {
    title: "a Cloud Run role beyond the invoker for the client's account on the target",
    append: `new gcp.cloudrunv2.ServiceIamMember("client-develops-target", { name: target.service.name, location: target.service.location, role: "roles/run.developer", member: clientAccount.member });`,
  },
  {
    title: "the registry password (the deployer's access token) passed without pulumi.secret",
    file: "components/containerImage.ts",
    replace: ["password: pulumi.secret(accessToken),", "password: accessToken,"],
    packBlindBecause:
      "@pulumi/policy unwraps secrets before a validation policy sees a resource's properties, so no policy can tell a secret from plain text",
  },
];

/**
 * The program's files with one edit applied, by path relative to the repository; fails loudly
 * if the edited file no longer reads as expected.
 */
function editedProgram(edit: CarelessEdit): Map<string, string> {
  const file = edit.file ?? "index.ts";
  const files = new Map(
    PROGRAM_FILES.map((path) => [path, readFileSync(join(ROOT, path), "utf8")]),
  );
  const source = files.get(file);
  if (source === undefined) throw new Error(`${file} is not a file of the program`);
  const [anchor, replacement] = edit.replace ?? [RETURN, `\n  ${edit.append ?? ""}${RETURN}`];
  if (source.split(anchor).length !== 2) {
    throw new Error(`${file} must contain ${JSON.stringify(anchor)} exactly once`);
  }
  files.set(file, source.replace(anchor, replacement));
  return files;
}

let copies = 0;

/** Writes the edited program to a directory of its own and returns its index.ts. */
function writeCopy(edit: CarelessEdit): string {
  copies += 1;
  const copy = join(COPIES, `program-${process.pid}-${copies}`);
  for (const [path, source] of editedProgram(edit)) {
    const from = dirname(join(ROOT, path));
    const to = dirname(join(copy, path));
    // Imports of the program's own files stay inside the copy; the rest point at the originals.
    const rewritten = source.replace(/from "(\.{1,2}\/[^"]+)"/g, (statement, specifier: string) => {
      const target = resolve(from, specifier);
      if (PROGRAM_FILES.includes(`${relative(ROOT, target)}.ts`)) return statement;
      const moved = relative(to, target);
      return `from "${moved.startsWith(".") ? moved : `./${moved}`}"`;
    });
    mkdirSync(to, { recursive: true });
    writeFileSync(join(copy, path), rewritten);
  }
  const index = join(copy, "index.ts");
  if (!existsSync(index)) throw new Error(`no index.ts in ${copy}`);
  return index;
}

afterAll(() => rmSync(COPIES, { recursive: true, force: true }));

/** The policies that refused something at one moment. */
function refusedBy(reports: PackReport[], moment: PackReport["moment"]): string[] {
  return [
    ...new Set(
      reports
        .filter((report) => isRefusal(report) && report.moment === moment)
        .map((report) => report.policy),
    ),
  ];
}

/** What each guard says about one program run, the pack's refusals by when they happen. */
async function verdicts(run: StackRun, config: Record<string, string>) {
  const reports = await packReports(run.engine);
  return {
    shape: securityShapeViolations(run, config),
    beforeCreation: refusedBy(reports, "before creation"),
    wholeStack: refusedBy(reports, "whole stack"),
    // A policy skipped for want of a value, or one that found no configuration to judge by.
    skipped: reports
      .filter((report) => !isRefusal(report))
      .map((report) => `${report.policy}: ${report.message}`),
  };
}

describe.each(MODES)("under %s", (mode) => {
  test.each([
    ["the defaults", {}],
    ["an internal target", INTERNAL_TARGET],
  ])(
    "the unedited copy of the program passes both guards under %s, so each failure below is the edit's",
    async (_, config: Record<string, string>) => {
      const run = await runStack(config, writeCopy({ title: "no edit", append: "" }), mode);
      expect(await verdicts(run, config)).toEqual({
        shape: [],
        beforeCreation: [],
        wholeStack: [],
        skipped: [],
      });
    },
  );
});

describe.each(EDITS)("$title", (edit) => {
  describe.each(MODES)("under %s", (mode) => {
    let found: Awaited<ReturnType<typeof verdicts>>;

    beforeAll(async () => {
      const config = edit.config ?? {};
      found = await verdicts(await runStack(config, writeCopy(edit), mode), config);
    });

    test("fails the stack's security-shape test", () => {
      expect(found.shape).not.toEqual([]);
    });

    if (edit.packBlindBecause !== undefined) {
      test(`passes the policy pack, whose policies cannot see it: ${edit.packBlindBecause}`, () => {
        expect(found).toMatchObject({ beforeCreation: [], wholeStack: [], skipped: [] });
      });
    } else if (mode === "up") {
      test("is refused by a resource policy, before the resource is created, with no policy skipped", () => {
        expect(found.beforeCreation).not.toEqual([]);
        expect(found.skipped).toEqual([]);
      });
    } else {
      test("is refused by the policy pack, with no policy skipped", () => {
        expect([...found.beforeCreation, ...found.wholeStack]).not.toEqual([]);
        expect(found.skipped).toEqual([]);
      });
    }
  });
});
