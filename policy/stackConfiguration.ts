/**
 * The stack's configuration, as the Pulumi CLI hands it to the pack. The CLI (3.276) sends it
 * once, in the ConfigureStack call it makes as soon as the pack has started and before it asks
 * about any resource: every key of the stack, Pulumi.yaml's defaults included, secrets
 * decrypted. It sets no PULUMI_CONFIG in the pack's environment. @pulumi/policy 1.21 answers
 * that call but keeps only the stack's tags, so this module wraps the handler the pack's server
 * registers with gRPC and keeps the configuration first.
 */
import { createRequire } from "node:module";
import type * as Grpc from "@grpc/grpc-js";
import type * as AnalyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import type {
  AnalyzerStackConfigureRequest,
  AnalyzerStackConfigureResponse,
} from "@pulumi/pulumi/proto/analyzer_pb";
import type { StackConfiguration } from "./stackIntent";

// The copies @pulumi/policy's server is built on: the wrapper must reach the class it uses.
const policyRequire = createRequire(require.resolve("@pulumi/policy"));
const grpc = policyRequire("@grpc/grpc-js") as typeof Grpc;
const { AnalyzerService } = policyRequire(
  "@pulumi/pulumi/proto/analyzer_grpc_pb",
) as typeof AnalyzerGrpc;

type ConfigureStack = Grpc.handleUnaryCall<
  AnalyzerStackConfigureRequest,
  AnalyzerStackConfigureResponse
>;

/** The configuration, and the project whose keys are `<project>:<key>` in it. */
export interface ReceivedConfiguration {
  project: string;
  config: StackConfiguration;
}

let received: ReceivedConfiguration | undefined;

/** What the CLI sent; undefined until it has, and from a CLI that sends no configuration. */
export function receivedStackConfiguration(): ReceivedConfiguration | undefined {
  return received;
}

/** The request's configuration without its secrets, which no policy of the pack reads. */
function configurationOf(request: AnalyzerStackConfigureRequest): StackConfiguration {
  const secret = new Set(request.getConfigSecretKeysList());
  const configuration: Record<string, string> = {};
  request.getConfigMap().forEach((value, key) => {
    if (!secret.has(key)) configuration[key] = value;
  });
  return configuration;
}

function keeping(configureStack: ConfigureStack): ConfigureStack {
  return (call, callback) => {
    received = { project: call.request.getProject(), config: configurationOf(call.request) };
    configureStack(call, callback);
  };
}

/**
 * Runs `start`, which constructs the PolicyPack and so registers its server, with the server's
 * ConfigureStack handler wrapped to keep the configuration.
 */
export function keepingStackConfiguration<T>(start: () => T): T {
  const prototype = grpc.Server.prototype;
  const addService = prototype.addService;
  prototype.addService = function (
    this: Grpc.Server,
    service: Grpc.ServiceDefinition,
    implementation: Grpc.UntypedServiceImplementation,
  ) {
    const configureStack = implementation.configureStack as ConfigureStack | undefined;
    const wrapped =
      service === AnalyzerService && configureStack !== undefined
        ? { ...implementation, configureStack: keeping(configureStack) }
        : implementation;
    addService.call(this, service, wrapped);
  };
  try {
    return start();
  } finally {
    prototype.addService = addService;
  }
}
