/**
 * The gRPC side of a stand-in resource provider: what the Pulumi engine asks of a provider plugin
 * (Configure, Check, Diff, Create, Read, Update, Delete, Invoke), answered from a small
 * description of each resource type. The description says what the real provider decides:
 * which inputs replace a resource when they change, the outputs it returns, and what it refuses.
 *
 * Stand-ins compare inputs. The real provider also reads each resource back from Google after
 * every operation and diffs against that; nothing here can show drift made outside Pulumi.
 *
 * A test can make an operation fail the way Google fails it: STANDIN_FAULTS names a JSON file
 * holding `[{ "operation": "create", "resource": "client-service", "times": 2, "error": "…" }]`;
 * each matching call fails with that text and counts `times` down.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as emptyProto from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as pluginProto from "@pulumi/pulumi/proto/plugin_pb";
import * as providerRpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as provider from "@pulumi/pulumi/proto/provider_pb";
import { servePlugin, unary } from "./plugin";

export type Properties = Record<string, unknown>;
type Awaitable<T> = T | Promise<T>;

/** How the engine writes a value that is not known yet (in a preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface OperationContext {
  /** The provider's configuration, by key without its package: `project`, `region`. */
  config: Record<string, string>;
  /** The resource's name in the program, e.g. `target-service`. */
  name: string;
  /** True in a preview: nothing may change, outputs not yet known are UNKNOWN. */
  preview: boolean;
}

export interface StandInResource {
  /** Inputs whose change replaces the resource (ForceNew in the provider's schema). */
  replaceOnChanges: readonly string[];
  /** The inputs as the provider records them, e.g. with a digest of the files they name. */
  check?(inputs: Properties, context: OperationContext): Properties;
  create(
    inputs: Properties,
    context: OperationContext,
  ): Awaitable<{ id: string; outputs: Properties }>;
  update(
    id: string,
    olds: Properties,
    news: Properties,
    context: OperationContext,
  ): Awaitable<Properties>;
  delete(id: string, outputs: Properties, context: OperationContext): Awaitable<void>;
  /** The resource as it is now, or undefined when it is gone; the state's copy when left out. */
  read?(
    id: string,
    outputs: Properties,
    context: OperationContext,
  ): Awaitable<Properties | undefined>;
}

export interface StandInProvider {
  version: string;
  resources: Record<string, StandInResource>;
  functions: Record<string, (args: Properties, context: OperationContext) => Properties>;
}

interface Fault {
  operation: string;
  resource: string;
  times: number;
  error: string;
}

/** The injected fault for this call, if any, counted down in its file. */
export function injectedFault(operation: string, name: string): string | undefined {
  const file = process.env.STANDIN_FAULTS;
  if (file === undefined || file === "") return undefined;
  let faults: Fault[];
  try {
    faults = JSON.parse(readFileSync(file, "utf8")) as Fault[];
  } catch {
    return undefined;
  }
  const fault = faults.find((f) => f.operation === operation && f.resource === name && f.times > 0);
  if (fault === undefined) return undefined;
  fault.times -= 1;
  writeFileSync(file, JSON.stringify(faults));
  return fault.error;
}

/** The logical name at the end of a URN: `urn:pulumi:dev::p::a$b::target-service` → `target-service`. */
export function nameOf(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

function typeOf(urn: string): string {
  const parts = urn.split("::");
  const types = parts[2] ?? "";
  return types.slice(types.lastIndexOf("$") + 1);
}

function toJs(struct: Struct | undefined): Properties {
  return (struct?.toJavaScript() ?? {}) as Properties;
}

function toStruct(value: Properties): Struct {
  // Struct cannot hold undefined: drop it, as a JSON round trip does.
  return Struct.fromJavaScript(JSON.parse(JSON.stringify(value)) as Record<string, never>);
}

function hasUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(hasUnknown);
  if (typeof value === "object" && value !== null) return Object.values(value).some(hasUnknown);
  return false;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(normalized(a)) === JSON.stringify(normalized(b));
}

/** A value with its object keys sorted and empty values dropped, so that equal inputs compare equal. */
function normalized(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalized);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined && v !== null)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, normalized(v)]),
    );
  }
  return value;
}

/** The top-level inputs that differ between two sets of inputs. */
export function changedInputs(olds: Properties, news: Properties): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  return [...keys]
    .filter((key) => hasUnknown(news[key]) || !sameValue(olds[key] ?? null, news[key] ?? null))
    .sort();
}

export function serveProvider(standIn: StandInProvider): Promise<unknown> {
  const config: Record<string, string> = {};
  const context = (urn: string, preview: boolean): OperationContext => ({
    config,
    name: nameOf(urn),
    preview,
  });
  const resource = (urn: string): StandInResource => {
    const type = typeOf(urn);
    const found = standIn.resources[type];
    if (found === undefined) throw new Error(`the stand-in provider has no resource type ${type}`);
    return found;
  };
  const failIfInjected = (operation: string, urn: string) => {
    const fault = injectedFault(operation, nameOf(urn));
    if (fault !== undefined) throw new Error(fault);
  };

  const implementation: Partial<providerRpc.IResourceProviderServer> = {
    handshake: unary(() =>
      new provider.ProviderHandshakeResponse().setAcceptSecrets(false).setAcceptResources(false),
    ),
    getPluginInfo: unary(() => new pluginProto.PluginInfo().setVersion(standIn.version)),
    getSchema: unary(() => new provider.GetSchemaResponse().setSchema("{}")),
    checkConfig: unary((request: provider.CheckRequest) =>
      new provider.CheckResponse().setInputs(request.getNews()),
    ),
    diffConfig: unary(() =>
      new provider.DiffResponse().setChanges(provider.DiffResponse.DiffChanges.DIFF_UNKNOWN),
    ),
    configure: unary((request: provider.ConfigureRequest) => {
      for (const [key, value] of request.getVariablesMap().toArray()) {
        config[key.slice(key.lastIndexOf(":") + 1)] = value;
      }
      for (const [key, value] of Object.entries(toJs(request.getArgs()))) {
        if (typeof value === "string") config[key] = value;
      }
      return new provider.ConfigureResponse().setAcceptsecrets(false).setSupportspreview(true);
    }),
    invoke: unary((request: provider.InvokeRequest) => {
      const fn = standIn.functions[request.getTok()];
      if (fn === undefined)
        throw new Error(`the stand-in provider has no function ${request.getTok()}`);
      return new provider.InvokeResponse().setReturn(
        toStruct(fn(toJs(request.getArgs()), context("::::invoke", request.getPreview()))),
      );
    }),
    check: unary((request: provider.CheckRequest) => {
      const urn = request.getUrn();
      const { check } = resource(urn);
      if (check === undefined) return new provider.CheckResponse().setInputs(request.getNews());
      const inputs = check(toJs(request.getNews()), context(urn, false));
      return new provider.CheckResponse().setInputs(toStruct(inputs));
    }),
    diff: unary((request: provider.DiffRequest) => {
      const { replaceOnChanges } = resource(request.getUrn());
      const olds = request.hasOldInputs() ? toJs(request.getOldInputs()) : toJs(request.getOlds());
      const changed = changedInputs(olds, toJs(request.getNews()));
      const replaces = changed.filter((key) => replaceOnChanges.includes(key));
      return new provider.DiffResponse()
        .setChanges(
          changed.length > 0
            ? provider.DiffResponse.DiffChanges.DIFF_SOME
            : provider.DiffResponse.DiffChanges.DIFF_NONE,
        )
        .setDiffsList(changed)
        .setReplacesList(replaces);
    }),
    create: unary(async (request: provider.CreateRequest) => {
      const urn = request.getUrn();
      if (!request.getPreview()) failIfInjected("create", urn);
      const { id, outputs } = await resource(urn).create(
        toJs(request.getProperties()),
        context(urn, request.getPreview()),
      );
      return new provider.CreateResponse().setId(id).setProperties(toStruct(outputs));
    }),
    update: unary(async (request: provider.UpdateRequest) => {
      const urn = request.getUrn();
      if (!request.getPreview()) failIfInjected("update", urn);
      const outputs = await resource(urn).update(
        request.getId(),
        toJs(request.getOlds()),
        toJs(request.getNews()),
        context(urn, request.getPreview()),
      );
      return new provider.UpdateResponse().setProperties(toStruct(outputs));
    }),
    delete: unary(async (request: provider.DeleteRequest) => {
      const urn = request.getUrn();
      failIfInjected("delete", urn);
      await resource(urn).delete(
        request.getId(),
        toJs(request.getProperties()),
        context(urn, false),
      );
      return new emptyProto.Empty();
    }),
    read: unary(async (request: provider.ReadRequest) => {
      const urn = request.getUrn();
      const stored = toJs(request.getProperties());
      const read = resource(urn).read;
      const now =
        read === undefined ? stored : await read(request.getId(), stored, context(urn, false));
      const response = new provider.ReadResponse();
      if (now === undefined) return response;
      return response
        .setId(request.getId())
        .setProperties(toStruct(now))
        .setInputs(request.getInputs());
    }),
    cancel: unary(() => new emptyProto.Empty()),
    attach: unary(() => new emptyProto.Empty()),
  };
  return servePlugin(
    providerRpc.ResourceProviderService,
    implementation as providerRpc.IResourceProviderServer,
  );
}
