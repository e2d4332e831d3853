/**
 * Careless edits to index.ts, each of which opens a hole, and proof that both guards catch it:
 * the stack's own security-shape check (so `npm test` fails) and the policy pack (so `pulumi
 * preview --policy-pack policy` fails).
 *
 * Each edit is applied to a copy of the real index.ts, which then runs under the mocked engine
 * exactly as index.ts does; the copies live in a git-ignored directory for the test's duration.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runStack } from "../helpers/pulumiMocks";
import { packViolations } from "../policy/policyArgs";
import { securityShapeViolations } from "./securityShape";

const ROOT = join(__dirname, "..", "..");
const COPIES = join(ROOT, ".careless");
const SOURCE = readFileSync(join(ROOT, "index.ts"), "utf8");
/** Where appended lines go: just before the program returns its outputs. */
const RETURN = "\n  return {\n";

interface CarelessEdit {
  /** What the edit does, as a reviewer would describe it. */
  title: string;
  /** Lines added to the program, before its outputs. */
  append?: string;
  /** Or a change to a line that is already there: [existing text, replacement]. */
  replace?: [string, string];
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
      "serviceAccount: { accountId: accounts.target.id },",
      `serviceAccount: { accountId: accounts.target.id }, publicAccess: "invoker-iam-disabled",`,
    ],
  },
  {
    title: "the target opened through the component's allUsers grant",
    replace: [
      "serviceAccount: { accountId: accounts.target.id },",
      `serviceAccount: { accountId: accounts.target.id }, publicAccess: "all-users",`,
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
];

/** index.ts with one edit applied; fails loudly if index.ts no longer reads as expected. */
function editedProgram(edit: CarelessEdit): string {
  const [anchor, replacement] = edit.replace ?? [RETURN, `\n  ${edit.append ?? ""}${RETURN}`];
  if (SOURCE.split(anchor).length !== 2) {
    throw new Error(`index.ts must contain ${JSON.stringify(anchor)} exactly once`);
  }
  // The copy sits one directory below index.ts.
  return SOURCE.replace(anchor, replacement).replaceAll('from "./', 'from "../');
}

let copies = 0;

function writeCopy(edit: CarelessEdit): string {
  mkdirSync(COPIES, { recursive: true });
  copies += 1;
  const file = join(COPIES, `program-${process.pid}-${copies}.ts`);
  writeFileSync(file, editedProgram(edit));
  return file;
}

afterAll(() => rmSync(COPIES, { recursive: true, force: true }));

test("the unedited copy of index.ts passes both guards, so each failure below is the edit's", async () => {
  const run = await runStack({}, writeCopy({ title: "no edit", append: "" }));
  expect(securityShapeViolations(run, "invoker-iam-disabled")).toEqual([]);
  expect(await packViolations(run.engine.registrations)).toEqual([]);
});

describe.each(EDITS)("$title", (edit) => {
  let shape: string[];
  let pack: string[];

  beforeAll(async () => {
    const run = await runStack({}, writeCopy(edit));
    shape = securityShapeViolations(run, "invoker-iam-disabled");
    pack = await packViolations(run.engine.registrations);
  });

  test("fails the stack's security-shape test", () => {
    expect(shape).not.toEqual([]);
  });

  test("is refused by the policy pack", () => {
    expect(pack).not.toEqual([]);
  });
});
