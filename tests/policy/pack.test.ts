/**
 * The policy pack as the Pulumi CLI runs it for `pulumi preview --policy-pack policy`: started
 * from its directory by the SDK's run-policy-pack script (TypeScript compiled on the fly), then
 * asked over gRPC for its policies and for verdicts on resources.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type * as Grpc from "@grpc/grpc-js";
import type * as EmptyModule from "google-protobuf/google/protobuf/empty_pb";
import type * as StructModule from "google-protobuf/google/protobuf/struct_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import {
  type AnalyzeDiagnostic,
  AnalyzerPropertyDependencies,
  AnalyzeRequest,
  type AnalyzeResponse,
  type AnalyzerInfo,
  AnalyzeStackRequest,
  AnalyzerResource,
  AnalyzerStackConfigureRequest,
  AnalyzerResourceOptions,
  EnforcementLevel,
} from "@pulumi/pulumi/proto/analyzer_pb";
import { parse } from "yaml";
import { loadedBy } from "../helpers/loadedFiles";
import { policiesWith, urnOf } from "./policyArgs";

// The gRPC and protobuf runtimes the SDK's generated clients are built on, loaded from the SDK
// so that this test uses exactly the copies the CLI's plugins use.
const sdkRequire = createRequire(require.resolve("@pulumi/pulumi/package.json"));
const grpc = sdkRequire("@grpc/grpc-js") as typeof Grpc;
const { Struct } = sdkRequire("google-protobuf/google/protobuf/struct_pb") as typeof StructModule;
const { Empty } = sdkRequire("google-protobuf/google/protobuf/empty_pb") as typeof EmptyModule;

const PACK_DIR = join(__dirname, "..", "..", "policy");
/** The engine address the CLI passes; the pack only uses it for logging. */
const UNUSED_ENGINE = "127.0.0.1:1";

let pack: ChildProcess;
let client: AnalyzerClient;

/** Starts the pack as the CLI's analyzer plugin does and resolves with the port it prints. */
function startPack(): Promise<number> {
  const script = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [PACK_DIR] });
  pack = spawn(process.execPath, [script, UNUSED_ENGINE, "."], {
    cwd: PACK_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  pack.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    pack.stdout?.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    pack.once("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
  });
}

/** One unary gRPC call, as a promise. */
function call<Response>(
  start: (done: (error: Grpc.ServiceError | null, response: Response) => void) => void,
): Promise<Response> {
  return new Promise((resolve, reject) =>
    start((error, response) => (error === null ? resolve(response) : reject(error))),
  );
}

function callAnalyze(request: AnalyzeRequest): Promise<AnalyzeResponse> {
  return call<AnalyzeResponse>((done) => client.analyze(request, done));
}

function analyzeRequest(
  type: string,
  name: string,
  props: Record<string, unknown>,
): AnalyzeRequest {
  return new AnalyzeRequest()
    .setType(type)
    .setName(name)
    .setUrn(urnOf(type, name))
    .setOptions(new AnalyzerResourceOptions())
    .setProperties(Struct.fromJavaScript(props as Record<string, StructModule.JavaScriptValue>));
}

function summary(diagnostics: AnalyzeDiagnostic[]): { policy: string; mandatory: boolean }[] {
  return diagnostics.map((diagnostic) => ({
    policy: diagnostic.getPolicyname(),
    mandatory: diagnostic.getEnforcementlevel() === EnforcementLevel.MANDATORY,
  }));
}

beforeAll(async () => {
  const port = await startPack();
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(() => {
  client?.close();
  pack?.kill();
});

test("the pack directory declares a Node.js policy pack, which the CLI runs through the SDK", () => {
  const declaration = parse(readFileSync(join(PACK_DIR, "PulumiPolicy.yaml"), "utf8")) as Record<
    string,
    unknown
  >;
  expect(declaration.runtime).toBe("nodejs");
  expect(declaration.description).toEqual(expect.any(String));
});

test("the pack loads no file of the program but services/wiring.ts and what it needs, and no Google Cloud or Docker SDK", () => {
  const { files, packages } = loadedBy("policy/index.ts");
  const outside = files.filter((file) => !file.startsWith("policy/"));
  expect(outside.sort()).toEqual([
    "services/nodeCommand.ts",
    "services/shared/tokenHeaders.ts",
    "services/wiring.ts",
  ]);
  expect(packages.filter((name) => /^@pulumi\/(gcp|docker)/.test(name))).toEqual([]);
  expect(packages).toContain("@pulumi/policy");
});

test("the running pack offers every policy, each mandatory but the advisory one on the target's own token check", async () => {
  const info = await call<AnalyzerInfo>((done) => client.getAnalyzerInfo(new Empty(), done));
  expect(info.getName()).toBe("cloud-run-private-calls");
  expect(
    info.getPoliciesList().map((policy) => ({
      policy: policy.getName(),
      mandatory: policy.getEnforcementlevel() === EnforcementLevel.MANDATORY,
    })),
  ).toEqual(
    policiesWith(undefined).map((policy) => ({
      policy: policy.name,
      mandatory: policy.name !== "cloud-run-target-verifies-tokens",
    })),
  );
});

test("a project-level roles/run.invoker grant fails the preview", async () => {
  const response = await callAnalyze(
    analyzeRequest("gcp:projects/iAMMember:IAMMember", "everyone-invokes", {
      project: "my-project",
      role: "roles/run.invoker",
      member: "serviceAccount:s2s-client@my-project.iam.gserviceaccount.com",
    }),
  );
  expect(summary(response.getDiagnosticsList())).toEqual([
    { policy: "iam-only-on-cloud-run-services", mandatory: true },
  ]);
});

test("a Cloud Run service on the default compute account fails, one on its own account passes", async () => {
  const service = (serviceAccount: string) =>
    analyzeRequest("gcp:cloudrunv2/service:Service", "api-service", {
      name: "api",
      location: "europe-west1",
      ingress: "INGRESS_TRAFFIC_ALL",
      template: { serviceAccount, containers: [{ image: "image@sha256:0" }] },
    });
  const onDefault = await callAnalyze(service("1234-compute@developer.gserviceaccount.com"));
  const onOwn = await callAnalyze(service("api@my-project.iam.gserviceaccount.com"));
  expect(summary(onDefault.getDiagnosticsList())).toEqual([
    { policy: "cloud-run-service-has-dedicated-account", mandatory: true },
  ]);
  expect(onOwn.getDiagnosticsList()).toEqual([]);
});

/** Pulumi's marker for a string that is unknown during a preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

function stackResource(
  type: string,
  name: string,
  props: Record<string, unknown>,
  propertyDependencies: Record<string, string[]> = {},
): AnalyzerResource {
  const resource = new AnalyzerResource()
    .setType(type)
    .setName(name)
    .setUrn(urnOf(type, name))
    .setOptions(new AnalyzerResourceOptions())
    .setProperties(Struct.fromJavaScript(props as Record<string, StructModule.JavaScriptValue>));
  for (const [property, urns] of Object.entries(propertyDependencies)) {
    resource
      .getPropertydependenciesMap()
      .set(property, new AnalyzerPropertyDependencies().setUrnsList(urns));
  }
  return resource;
}

function analyzeStack(resources: AnalyzerResource[]): Promise<AnalyzeResponse> {
  const request = new AnalyzeStackRequest().setResourcesList(resources);
  return call<AnalyzeResponse>((done) => client.analyzeStack(request, done));
}

test("allUsers invoking a target fails the stack check, reported on the grant", async () => {
  const member = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember";
  const response = await analyzeStack([
    stackResource("gcp:cloudrunv2/service:Service", "target-service", {
      name: "s2s-target",
      template: { serviceAccount: "s2s-target@my-project.iam.gserviceaccount.com" },
    }),
    stackResource(member, "target-invoker-client", {
      name: "s2s-target",
      role: "roles/run.invoker",
      member: "serviceAccount:s2s-client@my-project.iam.gserviceaccount.com",
    }),
    stackResource(member, "target-public", {
      name: "s2s-target",
      role: "roles/run.invoker",
      member: "allUsers",
    }),
  ]);
  const publicGrants = response
    .getDiagnosticsList()
    .filter(
      (diagnostic) =>
        diagnostic.getPolicyname() === "public-principals-only-invoke-a-public-service",
    );
  expect(summary(publicGrants)).toEqual([
    { policy: "public-principals-only-invoke-a-public-service", mandatory: true },
  ]);
  expect(publicGrants[0]!.getUrn()).toBe(urnOf(member, "target-public"));
});

/** The stack as a first preview hands it over: e-mails unknown, linked by dependencies. */
function firstPreview(grantMember: { member: string; from: string }): AnalyzerResource[] {
  const account = "gcp:serviceaccount/account:Account";
  const service = "gcp:cloudrunv2/service:Service";
  const targetAccount = urnOf(account, "target-account");
  const clientAccount = urnOf(account, "client-account");
  const target = urnOf(service, "target-service");
  return [
    stackResource(account, "target-account", { accountId: "s2s-target", email: UNKNOWN }),
    stackResource(account, "client-account", { accountId: "s2s-client", email: UNKNOWN }),
    stackResource(
      service,
      "target-service",
      {
        name: "s2s-target",
        ingress: "INGRESS_TRAFFIC_ALL",
        invokerIamDisabled: false,
        template: { serviceAccount: UNKNOWN },
      },
      { template: [targetAccount] },
    ),
    stackResource(
      service,
      "client-service",
      {
        name: "s2s-client",
        ingress: "INGRESS_TRAFFIC_ALL",
        invokerIamDisabled: true,
        template: { serviceAccount: UNKNOWN },
      },
      { template: [clientAccount, target] },
    ),
    stackResource(
      "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
      "target-invoker-client",
      { name: "s2s-target", role: "roles/run.invoker", member: grantMember.member },
      { name: [target], member: grantMember.from === "" ? [] : [urnOf(account, grantMember.from)] },
    ),
  ];
}

test("on a first preview, with e-mails still unknown, the deployed shape draws no diagnostic, not even a skipped policy", async () => {
  const response = await analyzeStack(firstPreview({ member: UNKNOWN, from: "client-account" }));
  expect(response.getDiagnosticsList().map((diagnostic) => diagnostic.getMessage())).toEqual([]);
});

test("on a first preview, a Cloud Run service whose account is unknown draws no diagnostic", async () => {
  const response = await callAnalyze(
    analyzeRequest("gcp:cloudrunv2/service:Service", "target-service", {
      name: "s2s-target",
      ingress: "INGRESS_TRAFFIC_ALL",
      template: { serviceAccount: UNKNOWN },
    }),
  );
  expect(response.getDiagnosticsList().map((diagnostic) => diagnostic.getMessage())).toEqual([]);
});

test("on a first preview, the target's invoker grant computed from the target's own account fails by its links", async () => {
  const response = await analyzeStack(firstPreview({ member: UNKNOWN, from: "target-account" }));
  expect(summary(response.getDiagnosticsList())).toEqual([
    { policy: "target-invoked-only-by-its-caller", mandatory: true },
  ]);
});

test("on a first preview, a grant on a service account fails before anything exists", async () => {
  const response = await callAnalyze(
    analyzeRequest("gcp:serviceaccount/iAMMember:IAMMember", "client-as-target", {
      serviceAccountId: UNKNOWN,
      role: "roles/iam.serviceAccountTokenCreator",
      member: UNKNOWN,
    }),
  );
  expect(summary(response.getDiagnosticsList())).toEqual([
    { policy: "iam-only-on-cloud-run-services", mandatory: true },
  ]);
});

/** The policies that judge against the stack's configuration. */
const CONFIGURED = [
  "configured-target-keeps-invoker-check",
  "public-principals-only-on-configured-client",
  "configured-target-invoked-only-by-client",
  "configured-services-run-as-own-accounts",
  "ingress-as-configured",
];

/** The ConfigureStack call the Pulumi CLI makes once the pack has started. */
function configureStack(
  config: Record<string, string>,
  secretKeys: string[] = [],
  project = "cloud-run-private-calls",
): Promise<unknown> {
  const request = new AnalyzerStackConfigureRequest()
    .setProject(project)
    .setStack("dev")
    .setConfigSecretKeysList(secretKeys);
  for (const [key, value] of Object.entries(config)) request.getConfigMap().set(key, value);
  return call((done) => client.configureStack(request, done));
}

/** The configured policies that say they do not apply to a resource. */
function notApplicable(response: AnalyzeResponse): string[] {
  return response
    .getNotApplicableList()
    .map((entry) => entry.getPolicyName())
    .filter((policy) => CONFIGURED.includes(policy));
}

// Last in this file: it hands the pack a configuration, which the tests above run without.
test("the configured policies judge by the configuration the CLI sends, secrets left out: with none, or with namePrefix secret, they do not apply to an allUsers grant on the target; with it, under this project's name or a copy's, two refuse the grant", async () => {
  const grant = analyzeRequest(
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
    "target-public",
    {
      name: "s2s-target",
      role: "roles/run.invoker",
      member: "allUsers",
    },
  );
  const config = {
    "cloud-run-private-calls:namePrefix": "s2s",
    "cloud-run-private-calls:targetIngress": "all",
    "gcp:project": "my-project",
  };

  const unconfigured = await callAnalyze(grant);
  expect(unconfigured.getDiagnosticsList()).toEqual([]);
  expect(notApplicable(unconfigured)).toEqual(CONFIGURED);

  await configureStack(config, ["cloud-run-private-calls:namePrefix"]);
  const prefixSecret = await callAnalyze(grant);
  expect(prefixSecret.getDiagnosticsList()).toEqual([]);
  expect(notApplicable(prefixSecret)).toEqual(CONFIGURED);

  await configureStack(config);
  const configured = await callAnalyze(grant);
  expect(summary(configured.getDiagnosticsList())).toEqual([
    { policy: "public-principals-only-on-configured-client", mandatory: true },
    { policy: "configured-target-invoked-only-by-client", mandatory: true },
  ]);
  expect(notApplicable(configured)).toEqual([]);

  // A copy of the program whose Pulumi project has another name: its keys carry that name.
  const renamed = Object.fromEntries(
    Object.entries(config).map(([key, value]) => [
      key.replace(/^cloud-run-private-calls:/, "my-copy:"),
      value,
    ]),
  );
  await configureStack(renamed, [], "my-copy");
  const copied = await callAnalyze(grant);
  expect(summary(copied.getDiagnosticsList())).toEqual(summary(configured.getDiagnosticsList()));
});
