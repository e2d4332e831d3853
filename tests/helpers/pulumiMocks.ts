/**
 * A stand-in for the Pulumi engine: it records every resource registration (inputs, parent and
 * dependencies) and answers with the outputs Google Cloud and Docker would compute, so tests can
 * assert on both what the program asks for and how outputs flow between resources.
 *
 * It runs a program the two ways the Pulumi CLI does: as `pulumi up` (every output known once its
 * resource exists) and as a first `pulumi preview` (nothing exists yet, so every output a
 * provider computes, an e-mail, a URL, a digest, stays unknown). Like the engine, it refuses a
 * URN registered twice and a stack missing a value for a key Pulumi.yaml declares without a
 * default.
 *
 * Call `startMockedEngine` before importing any module that creates resources.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as runtimeSettings from "@pulumi/pulumi/runtime/settings";
import { projectConfig } from "../../local/projectFile";

/** The Pulumi project name, which is also the namespace of the stack's own config keys. */
export const PULUMI_PROJECT = "cloud-run-private-calls";
export const GCP_PROJECT = "test-project";
export const REGION = "europe-west1";
/** The number Google gives the test project, as `gcp.organizations.getProject` answers it. */
export const PROJECT_NUMBER = "123456789012";
export const FAKE_ACCESS_TOKEN = "fake-access-token";
/** The stack name the mocked engine runs; the CLI's messages name it. */
const STACK = "test";

/** How the program runs: as `pulumi up`, or as a first `pulumi preview` of a new stack. */
export const MODES = ["up", "preview"] as const;
export type EngineMode = (typeof MODES)[number];

/** Pulumi's marker for a value that is unknown during a preview, as the engine sends it. */
export const UNKNOWN = pulumi.runtime.unknownValue;

/** Type tokens of the resources the stack creates. */
export const TYPES = {
  api: "gcp:projects/service:Service",
  registry: "gcp:artifactregistry/repository:Repository",
  image: "docker:index/image:Image",
  account: "gcp:serviceaccount/account:Account",
  runService: "gcp:cloudrunv2/service:Service",
  runServiceMember: "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
  workingChain: "pulumi-nodejs:dynamic/chain:WorkingChain",
} as const;

export interface Registration {
  type: string;
  name: string;
  urn: string;
  parent: string;
  custom: boolean;
  /**
   * The outputs the engine answered with, once it has; secrets unwrapped. In a preview, the
   * outputs a provider computes are UNKNOWN.
   */
  outputs: Record<string, unknown>;
  /** The inputs, with secrets unwrapped to their values; UNKNOWN where not known yet. */
  inputs: Record<string, unknown>;
  /** Dotted paths of the inputs that were sent as secrets. */
  secretPaths: string[];
  /** URNs of the resources this one waits for, explicit (dependsOn) and through its inputs. */
  dependencies: string[];
  /** For each input, the URNs of the resources its value was computed from. */
  propertyDependencies: Record<string, string[]>;
  /** URNs of the resources whose replacement replaces this one (`replaceWith`). */
  replaceWith: string[];
  /** Names of the hooks bound to the resource, by kind. */
  hooks: {
    beforeCreate: string[];
    beforeUpdate: string[];
    afterCreate: string[];
    afterUpdate: string[];
    onError: string[];
  };
  /** Whether Pulumi refuses to delete or replace the resource (`protect`). */
  protect: boolean;
  /** Whether a replacement deletes the old resource before it creates the new one. */
  deleteBeforeReplace: boolean;
}

/** A resource hook as the program registered it with the engine. */
export interface HookRegistration {
  name: string;
  /** Whether the engine is asked to run the hook in preview too. */
  onDryRun: boolean;
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

/**
 * The account e-mail Google derives from an account id, as the real API does; a domain-scoped
 * project `example.com:p` holds its accounts under `p.example.com`.
 */
export function accountEmail(accountId: string, project: string): string {
  const [domain, name] = project.includes(":") ? project.split(":") : [undefined, project];
  return `${accountId}@${name}${domain === undefined ? "" : `.${domain}`}.iam.gserviceaccount.com`;
}

function fakeDigest(seed: string): string {
  return `sha256:${createHash("sha256").update(seed).digest("hex")}`;
}

/** The outputs the real providers compute, for the resource types the stack creates. */
function computedOutputs(
  type: string,
  inputs: Record<string, unknown>,
  project: string,
): Record<string, unknown> {
  const text = (key: string): string => String(inputs[key] ?? "");
  switch (type) {
    case "gcp:serviceaccount/account:Account": {
      const email = accountEmail(text("accountId"), project);
      return {
        email,
        member: `serviceAccount:${email}`,
        name: `projects/${project}/serviceAccounts/${email}`,
        project,
      };
    }
    case "gcp:cloudrunv2/service:Service":
      return {
        uri: `https://${text("name")}-abc123xyz-ew.a.run.app`,
        project,
        uid: `uid-of-${text("name")}`,
        generation: "1",
      };
    case "gcp:artifactregistry/repository:Repository":
      return {
        name: text("repositoryId"),
        project,
        registryUri: `${text("location")}-docker.pkg.dev/${project}/${text("repositoryId")}`,
      };
    case "docker:index/image:Image":
      return { repoDigest: `${text("imageName")}@${fakeDigest(JSON.stringify(inputs))}` };
    default:
      return {};
  }
}

export class MockedEngine {
  public readonly registrations: Registration[] = [];
  /** What the engine refused, as the Pulumi CLI would report it. */
  public readonly refusals: string[] = [];
  /** The hooks the program registered, by kind; the mock engine runs none of them. */
  public readonly hooks: { resource: HookRegistration[]; error: string[] } = {
    resource: [],
    error: [],
  };
  private readonly pending: Promise<void>[] = [];
  private readonly urns = new Set<string>();

  constructor(
    public readonly mode: EngineMode,
    /** The project (`gcp:project`) the provider creates everything in. */
    public readonly project: string,
    /**
     * The stack's config as the program receives it, by fully qualified key: Pulumi.yaml's
     * defaults with the stack's own values on top, which is also what the CLI hands a policy pack.
     */
    public readonly config: Readonly<Record<string, string>>,
  ) {}

  /**
   * Waits until every registration the program started has been answered, and fails as the
   * Pulumi CLI would if the engine refused one.
   */
  public async settle(): Promise<void> {
    await waitForRpcs();
    await Promise.all(this.pending);
    if (this.refusals.length > 0) throw new Error(this.refusals.join("\n"));
  }

  /**
   * The engine's refusal of a second resource with the same URN, or undefined: two resources
   * with one type, name and parent type cannot both exist.
   */
  public refuseDuplicate(urn: string): string | undefined {
    if (!this.urns.has(urn)) {
      this.urns.add(urn);
      return undefined;
    }
    const refusal = `Duplicate resource URN '${urn}'; try giving it a unique name`;
    this.refusals.push(refusal);
    return refusal;
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
    // Read as the engine receives them, so a value unknown during a preview stays UNKNOWN.
    const inputs = unwrapSecrets(request.getObject().toJavaScript(), "", secretPaths) as Record<
      string,
      unknown
    >;
    const propertyDependencies: Record<string, string[]> = {};
    request.getPropertydependenciesMap().forEach((urns, key) => {
      propertyDependencies[key] = urns.getUrnsList();
    });
    const binding = request.getHooks();
    const registration: Registration = {
      hooks: {
        beforeCreate: binding?.getBeforeCreateList() ?? [],
        beforeUpdate: binding?.getBeforeUpdateList() ?? [],
        afterCreate: binding?.getAfterCreateList() ?? [],
        afterUpdate: binding?.getAfterUpdateList() ?? [],
        onError: binding?.getOnErrorList() ?? [],
      },
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
      replaceWith: request.getReplaceWithList(),
      protect: request.getProtect() === true,
      deleteBeforeReplace: request.getDeletebeforereplace(),
    };
    this.registrations.push(registration);
    this.pending.push(
      answer.then((response) => {
        if (response === undefined) return;
        registration.urn = response.getUrn();
        registration.outputs = unwrapSecrets(response.getObject().toJavaScript(), "", []) as Record<
          string,
          unknown
        >;
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
  getObject(): StructValue;
  getDependenciesList(): string[];
  getReplaceWithList(): string[];
  getPropertydependenciesMap(): {
    forEach(callback: (urns: { getUrnsList(): string[] }, key: string) => void): void;
  };
  getHooks(): HooksBinding | undefined;
  getProtect(): boolean | undefined;
  getDeletebeforereplace(): boolean;
}

/** The parts of the request's hook binding the recorder reads. */
interface HooksBinding {
  getBeforeCreateList(): string[];
  getBeforeUpdateList(): string[];
  getAfterCreateList(): string[];
  getAfterUpdateList(): string[];
  getOnErrorList(): string[];
}

/**
 * The SDK counts every resource operation from the moment a resource is constructed, and
 * `pulumi.runtime.disconnect` waits for that count to drain before a program ends. The waiting
 * half is internal to the SDK (absent from its type declarations), hence the cast.
 */
function waitForRpcs(): Promise<void> {
  return (runtimeSettings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

/** A protobuf Struct as the gRPC messages carry it. */
interface StructValue {
  toJavaScript(): Record<string, unknown>;
}

interface RegisterResponse {
  getUrn(): string;
  getObject(): StructValue;
}

type RegisterCallback = (error: unknown, response?: RegisterResponse) => void;

/** The parts of RegisterResourceHookRequest and RegisterErrorHookRequest the recorder reads. */
interface HookRequest {
  getName(): string;
  getOnDryRun?(): boolean;
}

type HookCallback = (error: null, response: object) => void;

interface MockMonitorInternals {
  registerResource(request: RegisterRequest, callback: RegisterCallback): Promise<void>;
  registerResourceHook?(request: HookRequest, callback: HookCallback): void;
  registerErrorHook?(request: HookRequest, callback: HookCallback): void;
}

export interface EngineOptions {
  /** Config as `pulumi config` stores it; keys without a namespace get the project's. */
  config?: Record<string, string>;
  /** `up` unless given. */
  mode?: EngineMode;
}

function qualified(key: string): string {
  return key.includes(":") ? key : `${PULUMI_PROJECT}:${key}`;
}

/**
 * The values Pulumi.yaml gives every stack, as fully qualified keys: what the Pulumi CLI hands
 * a program for each key that the stack's own config does not set. A key declared without a
 * default has none.
 */
export function projectDefaults(
  declarations: ReturnType<typeof projectConfig> = projectConfig(),
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(declarations).flatMap(([key, declaration]) => {
      const value = typeof declaration === "string" ? declaration : declaration.default;
      return value === undefined ? [] : [[qualified(key), String(value)]];
    }),
  );
}

/**
 * The stack's config as the Pulumi CLI hands it to a program: Pulumi.yaml's defaults with the
 * stack's own values on top. Like the CLI, it refuses to run a stack that has no value for a
 * key declared without a default.
 */
export function stackConfig(
  values: Record<string, string>,
  declarations: ReturnType<typeof projectConfig> = projectConfig(),
): Record<string, string> {
  const config = projectDefaults(declarations);
  for (const [key, value] of Object.entries(values)) config[qualified(key)] = value;
  const missing = Object.keys(declarations).find((key) => config[qualified(key)] === undefined);
  if (missing !== undefined) {
    throw new Error(`Stack '${STACK}' is missing configuration value '${missing}'`);
  }
  return config;
}

/**
 * Points Pulumi at a fresh mock engine with the given config and returns its recorder. Each
 * call starts from scratch, so one test file can run the program under several configurations.
 */
export async function startMockedEngine(options: EngineOptions = {}): Promise<MockedEngine> {
  const config = stackConfig(options.config ?? {});
  const mode = options.mode ?? "up";
  const engine = new MockedEngine(mode, config["gcp:project"] ?? GCP_PROJECT, config);
  pulumi.runtime.setAllConfig(config);

  await pulumi.runtime.setMocks(
    {
      // A first preview creates nothing: a resource's outputs are its inputs, and whatever the
      // provider would compute stays unknown.
      newResource: ({ type, name, inputs }) => {
        const computed = computedOutputs(type, inputs as Record<string, unknown>, engine.project);
        if (mode === "up") return { id: `${name}-id`, state: { ...inputs, ...computed } };
        const unknowns = Object.fromEntries(
          Object.keys(computed).map((key) => [key, pulumi.unknown]),
        );
        return { id: undefined, state: { ...inputs, ...unknowns } };
      },
      // Data sources are read in a preview as well.
      call: ({ token }) => {
        if (token === "gcp:organizations/getClientConfig:getClientConfig") {
          return { accessToken: FAKE_ACCESS_TOKEN, project: engine.project, region: REGION };
        }
        if (token === "gcp:organizations/getProject:getProject") {
          return { projectId: engine.project, number: PROJECT_NUMBER };
        }
        return {};
      },
    },
    PULUMI_PROJECT,
    STACK,
    mode === "preview",
  );

  // The mock monitor hands `newResource` only the inputs; wrapping its registerResource also
  // captures each resource's parent and dependencies, which the ordering rules are about.
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitorInternals;
  acceptHooks(monitor, engine);
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    let answer: (response: RegisterResponse | undefined) => void = () => undefined;
    engine.record(request, new Promise((resolve) => (answer = resolve)));
    return register(request, (error, response) => {
      // A refused registration is answered all the same: an error here would surface as an
      // unhandled rejection inside the SDK, which ends the test process. settle() fails instead.
      if (response !== undefined) engine.refuseDuplicate(response.getUrn());
      answer(response);
      callback(error, response);
    });
  };
  return engine;
}

/**
 * The SDK's mock monitor (3.276) cannot register resource or error hooks, and a resource that
 * names a hook then never finishes registering. The engine's answer to either registration is
 * empty, so this one notes the hook's name and answers the same. No hook ever runs under mocks:
 * tests call a hook's function directly.
 */
function acceptHooks(monitor: MockMonitorInternals, engine: MockedEngine): void {
  monitor.registerResourceHook = (request, callback) => {
    engine.hooks.resource.push({
      name: request.getName(),
      onDryRun: request.getOnDryRun?.() ?? false,
    });
    callback(null, {});
  };
  monitor.registerErrorHook = (request, callback) => {
    engine.hooks.error.push(request.getName());
    callback(null, {});
  };
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
  mode: EngineMode = "up",
): Promise<StackRun> {
  const engine = await startMockedEngine({
    config: { "gcp:project": GCP_PROJECT, ...config },
    mode,
  });
  const program: StackProgram = ((await import(programModule)) as { default: StackProgram })
    .default;
  const outputs = program();
  await engine.settle();
  return { engine, outputs };
}
