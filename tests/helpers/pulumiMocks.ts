/**
 * A stand-in for the Pulumi engine: it records every resource registration (inputs, parent and
 * dependencies) and answers with the outputs Google Cloud and Docker would compute, so tests can
 * assert on both what the program asks for and how outputs flow between resources.
 *
 * Call `startMockedEngine` before importing any module that creates resources.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as runtimeSettings from "@pulumi/pulumi/runtime/settings";
import { projectConfig } from "./projectFile";

/** The Pulumi project name, which is also the namespace of the stack's own config keys. */
export const PULUMI_PROJECT = "cloud-run-private-calls";
export const GCP_PROJECT = "test-project";
export const REGION = "europe-west1";
/** The number Google gives the test project, as `gcp.organizations.getProject` answers it. */
export const PROJECT_NUMBER = "123456789012";
export const FAKE_ACCESS_TOKEN = "fake-access-token";

/** Type tokens of the resources the stack creates. */
export const TYPES = {
  api: "gcp:projects/service:Service",
  sleep: "time:index/sleep:Sleep",
  registry: "gcp:artifactregistry/repository:Repository",
  image: "docker:index/image:Image",
  account: "gcp:serviceaccount/account:Account",
  runService: "gcp:cloudrunv2/service:Service",
  runServiceMember: "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
} as const;

export interface Registration {
  type: string;
  name: string;
  urn: string;
  parent: string;
  custom: boolean;
  /** The outputs the engine answered with, once it has; secrets unwrapped. */
  outputs: Record<string, unknown>;
  /** The inputs, with secrets unwrapped to their values. */
  inputs: Record<string, unknown>;
  /** Dotted paths of the inputs that were sent as secrets. */
  secretPaths: string[];
  /** URNs of the resources this one waits for, explicit (dependsOn) and through its inputs. */
  dependencies: string[];
  /** For each input, the URNs of the resources its value was computed from. */
  propertyDependencies: Record<string, string[]>;
}

/** Replaces every secret in `value` by what it holds, noting where each one was. */
function unwrapSecrets(value: unknown, path: string, secretPaths: string[]): unknown {
  if (Array.isArray(value)) {
    return value.map((item, index) => unwrapSecrets(item, `${path}[${index}]`, secretPaths));
  }
  if (typeof value !== "object" || value === null) return value;
  const fields = value as Record<string, unknown>;
  if (fields[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) {
    secretPaths.push(path);
    return unwrapSecrets(fields.value, path, secretPaths);
  }
  return Object.fromEntries(
    Object.entries(fields).map(([key, item]) => [
      key,
      unwrapSecrets(item, path === "" ? key : `${path}.${key}`, secretPaths),
    ]),
  );
}

/** The account e-mail Google derives from an account id, as the real API does. */
function accountEmail(accountId: string): string {
  return `${accountId}@${GCP_PROJECT}.iam.gserviceaccount.com`;
}

function fakeDigest(seed: string): string {
  return `sha256:${createHash("sha256").update(seed).digest("hex")}`;
}

/** The outputs the real providers compute, for the resource types the stack creates. */
function computedOutputs(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const text = (key: string): string => String(inputs[key] ?? "");
  switch (type) {
    case "gcp:serviceaccount/account:Account": {
      const email = accountEmail(text("accountId"));
      return {
        email,
        member: `serviceAccount:${email}`,
        name: `projects/${GCP_PROJECT}/serviceAccounts/${email}`,
        project: GCP_PROJECT,
      };
    }
    case "gcp:cloudrunv2/service:Service":
      return { uri: `https://${text("name")}-abc123xyz-ew.a.run.app`, project: GCP_PROJECT };
    case "gcp:artifactregistry/repository:Repository":
      return {
        name: text("repositoryId"),
        project: GCP_PROJECT,
        registryUri: `${text("location")}-docker.pkg.dev/${GCP_PROJECT}/${text("repositoryId")}`,
      };
    case "docker:index/image:Image":
      return { repoDigest: `${text("imageName")}@${fakeDigest(JSON.stringify(inputs))}` };
    default:
      return {};
  }
}

export class MockedEngine {
  public readonly registrations: Registration[] = [];
  private readonly pending: Promise<void>[] = [];

  /** Waits until every registration the program started has been answered. */
  public async settle(): Promise<void> {
    await waitForRpcs();
    await Promise.all(this.pending);
  }

  public ofType(type: string): Registration[] {
    return this.registrations.filter((registration) => registration.type === type);
  }

  public named(type: string, name: string): Registration {
    const found = this.ofType(type).find((registration) => registration.name === name);
    if (found === undefined) throw new Error(`no ${type} named "${name}" was registered`);
    return found;
  }

  /** Called for every RegisterResource request, before the mock monitor answers it. */
  public record(request: RegisterRequest, answer: Promise<RegisterResponse | undefined>): void {
    const secretPaths: string[] = [];
    const inputs = unwrapSecrets(
      pulumi.runtime.deserializeProperties(request.getObject()),
      "",
      secretPaths,
    ) as Record<string, unknown>;
    const propertyDependencies: Record<string, string[]> = {};
    request.getPropertydependenciesMap().forEach((urns, key) => {
      propertyDependencies[key] = urns.getUrnsList();
    });
    const registration: Registration = {
      type: request.getType(),
      name: request.getName(),
      urn: "",
      outputs: {},
      parent: request.getParent(),
      custom: request.getCustom(),
      inputs,
      secretPaths,
      dependencies: request.getDependenciesList(),
      propertyDependencies,
    };
    this.registrations.push(registration);
    this.pending.push(
      answer.then((response) => {
        if (response === undefined) return;
        registration.urn = response.getUrn();
        registration.outputs = unwrapSecrets(
          pulumi.runtime.deserializeProperties(response.getObject()),
          "",
          [],
        ) as Record<string, unknown>;
      }),
    );
  }
}

/** The parts of the gRPC RegisterResourceRequest the recorder reads. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getObject(): Parameters<typeof pulumi.runtime.deserializeProperties>[0];
  getDependenciesList(): string[];
  getPropertydependenciesMap(): {
    forEach(callback: (urns: { getUrnsList(): string[] }, key: string) => void): void;
  };
}

/**
 * The SDK counts every resource operation from the moment a resource is constructed, and
 * `pulumi.runtime.disconnect` waits for that count to drain before a program ends. The waiting
 * half is internal to the SDK (absent from its type declarations), hence the cast.
 */
function waitForRpcs(): Promise<void> {
  return (runtimeSettings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

interface RegisterResponse {
  getUrn(): string;
  getObject(): Parameters<typeof pulumi.runtime.deserializeProperties>[0];
}

type RegisterCallback = (error: unknown, response?: RegisterResponse) => void;

interface MockMonitorInternals {
  registerResource(request: RegisterRequest, callback: RegisterCallback): Promise<void>;
}

export interface EngineOptions {
  /** Config as `pulumi config` stores it; keys without a namespace get the project's. */
  config?: Record<string, string>;
}

/**
 * The values Pulumi.yaml gives every stack, as fully qualified keys: what the Pulumi CLI hands
 * a program for each key that the stack's own config does not set.
 */
export function projectDefaults(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(projectConfig()).map(([key, declaration]) => [
      key.includes(":") ? key : `${PULUMI_PROJECT}:${key}`,
      String(typeof declaration === "string" ? declaration : declaration.default),
    ]),
  );
}

/**
 * Points Pulumi at a fresh mock engine with the given config and returns its recorder. Each
 * call starts from scratch, so one test file can run the program under several configurations.
 */
export async function startMockedEngine(options: EngineOptions = {}): Promise<MockedEngine> {
  const engine = new MockedEngine();
  const config: Record<string, string> = projectDefaults();
  for (const [key, value] of Object.entries(options.config ?? {})) {
    config[key.includes(":") ? key : `${PULUMI_PROJECT}:${key}`] = value;
  }
  pulumi.runtime.setAllConfig(config);

  await pulumi.runtime.setMocks(
    {
      newResource: ({ type, name, inputs }) => ({
        id: `${name}-id`,
        state: { ...inputs, ...computedOutputs(type, inputs as Record<string, unknown>) },
      }),
      call: ({ token }) => {
        if (token === "gcp:organizations/getClientConfig:getClientConfig") {
          return { accessToken: FAKE_ACCESS_TOKEN, project: GCP_PROJECT, region: REGION };
        }
        if (token === "gcp:organizations/getProject:getProject") {
          return { projectId: GCP_PROJECT, number: PROJECT_NUMBER };
        }
        return {};
      },
    },
    PULUMI_PROJECT,
    "test",
  );

  // The mock monitor hands `newResource` only the inputs; wrapping its registerResource also
  // captures each resource's parent and dependencies, which the ordering rules are about.
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitorInternals;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    let answer: (response: RegisterResponse | undefined) => void = () => undefined;
    engine.record(request, new Promise((resolve) => (answer = resolve)));
    return register(request, (error, response) => {
      answer(response);
      callback(error, response);
    });
  };
  return engine;
}

/** The value of an output, for assertions. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** The Cloud Run service's one container, as the program declared it. */
export function containerOf(service: Registration): Record<string, unknown> {
  const template = service.inputs.template as { containers: Record<string, unknown>[] };
  const [container] = template.containers;
  if (container === undefined) throw new Error(`${service.name} declares no container`);
  return container;
}

/** The Cloud Run service's environment variables, by name. */
export function envOf(service: Registration): Record<string, string> {
  const envs = (containerOf(service).envs ?? []) as { name: string; value: string }[];
  return Object.fromEntries(envs.map(({ name, value }) => [name, value]));
}

/** The stack's program: the function index.ts exports, which Pulumi calls to run it. */
export type StackProgram = () => Record<string, pulumi.Output<string>>;

export interface StackRun {
  engine: MockedEngine;
  outputs: Record<string, pulumi.Output<string>>;
}

/**
 * Runs the stack's program (index.ts, or another module exporting a program the same way) under
 * a fresh mock engine with Pulumi.yaml's defaults, `gcp:project`, and the given config on top,
 * and waits for every resource to be registered.
 */
export async function runStack(
  config: Record<string, string> = {},
  programModule = "../../index",
): Promise<StackRun> {
  const engine = await startMockedEngine({ config: { "gcp:project": GCP_PROJECT, ...config } });
  const program: StackProgram = ((await import(programModule)) as { default: StackProgram })
    .default;
  const outputs = program();
  await engine.settle();
  return { engine, outputs };
}
