/**
 * The Pulumi program. It turns the one declaration of the services and who may invoke whom
 * (services/topology.ts) into Google Cloud resources: the APIs, an Artifact Registry repository,
 * one image per service, one Cloud Run service per declaration, each with its own service
 * account, and one `roles/run.invoker` grant per declared invoker. Nothing is granted at
 * project level.
 *
 * The module exports a function, which Pulumi calls to run the program; its result is the
 * stack's outputs. Tests call the same function under mocks, once per configuration.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { CloudRunService } from "./components/cloudRunService";
import { ContainerImage } from "./components/containerImage";
import { type StackConfig, loadStackConfig } from "./config";
import {
  IMAGE_BUILD,
  TOPOLOGY,
  type Topology,
  callOrder,
  invokersOf,
  isPublic,
  serviceAccountId,
  serviceEnvironment,
} from "./services/topology";

/** The Google APIs the stack calls, enabled before anything that needs them. */
const REQUIRED_APIS = ["run", "artifactregistry", "iam"] as const;

function privateServices(topology: Topology): string[] {
  return Object.keys(topology).filter((service) => !isPublic(topology, service));
}

function createStack(config: StackConfig): Record<string, pulumi.Output<string>> {
  if (config.customAudience !== undefined && privateServices(TOPOLOGY).length > 1) {
    // A token minted for one private service would then be accepted by all of them.
    throw new Error(
      `customAudience can only be used while one service is private; ${privateServices(TOPOLOGY).join(", ")} are`,
    );
  }
  // A private service names its invokers' accounts, and an invoker is declared after the
  // service it calls, whose URL it needs. Deferred outputs let the private service refer to an
  // account that the loop below has not created yet; each is resolved once its service exists.
  const accountEmails = new Map(
    Object.keys(TOPOLOGY).map((service) => [service, pulumi.deferredOutput<string>()] as const),
  );
  const accountEmail = (service: string): pulumi.Output<string> => {
    const [email] = accountEmails.get(service) ?? [];
    if (email === undefined) throw new Error(`unknown service "${service}"`);
    return email;
  };

  const apis = REQUIRED_APIS.map(
    (api) =>
      new gcp.projects.Service(`${api}-api`, {
        service: `${api}.googleapis.com`,
        // Other workloads in the project may rely on these APIs; destroying this stack must
        // not switch them off.
        disableOnDestroy: false,
      }),
  );

  const registry = new gcp.artifactregistry.Repository(
    "images",
    {
      repositoryId: `${config.namePrefix}-images`,
      location: config.region,
      format: "DOCKER",
      description: "Images of the Cloud Run services of this stack",
    },
    { dependsOn: apis },
  );

  const deployed = new Map<string, CloudRunService>();
  const deployedService = (service: string): CloudRunService => {
    const found = deployed.get(service);
    if (found === undefined) throw new Error(`service "${service}" is not deployed yet`);
    return found;
  };

  for (const service of callOrder(TOPOLOGY)) {
    const declaration = TOPOLOGY[service]!;
    const open = isPublic(TOPOLOGY, service);

    const image = new ContainerImage(service, {
      repositoryUrl: registry.registryUri,
      imageName: declaration.bundle,
      context: IMAGE_BUILD.context,
      dockerfile: IMAGE_BUILD.dockerfile,
      buildArgs: { [IMAGE_BUILD.bundleArg]: declaration.bundle },
    });

    const callee = declaration.calls === undefined ? undefined : deployedService(declaration.calls);
    const calleeIsPrivate =
      declaration.calls !== undefined && !isPublic(TOPOLOGY, declaration.calls);
    const env: Record<string, pulumi.Input<string>> = {
      ...serviceEnvironment<pulumi.Input<string>>(TOPOLOGY, service, {
        projectId: config.project,
        allowedInvokers: pulumi
          .all(invokersOf(TOPOLOGY, service).map(accountEmail))
          .apply((emails) => emails.join(",")),
        ...(callee && {
          callee: {
            url: callee.uri,
            audience: (calleeIsPrivate ? config.customAudience : undefined) ?? callee.uri,
          },
        }),
      }),
      ...(callee && { TOKEN_HEADER: config.tokenHeader }),
    };

    const cloudRun = new CloudRunService(
      service,
      {
        serviceName: `${config.namePrefix}-${service}`,
        accountId: serviceAccountId(config.namePrefix, service),
        description: declaration.description,
        region: config.region,
        image: image.digestReference,
        env,
        // A public service must be reachable from wherever `curl` runs.
        ingress: open ? "all" : config.targetIngress,
        publicAccess: open ? config.publicAccess : undefined,
        customAudiences:
          !open && config.customAudience !== undefined ? [config.customAudience] : undefined,
        deletionProtection: config.deletionProtection,
        scaling: { minInstances: config.minInstances, maxInstances: config.maxInstances },
        resources: { cpu: config.cpu, memory: config.memory, concurrency: config.concurrency },
        vpcSubnet: declaration.calls === undefined ? undefined : config.clientVpcSubnet,
      },
      { dependsOn: apis },
    );
    deployed.set(service, cloudRun);
    accountEmails.get(service)?.[1](cloudRun.serviceAccountEmail);
  }

  for (const service of privateServices(TOPOLOGY)) {
    for (const invoker of invokersOf(TOPOLOGY, service)) {
      deployedService(service).grantInvoker(invoker, deployedService(invoker).serviceAccountMember);
    }
  }

  const outputs: Record<string, pulumi.Output<string>> = {};
  const tryIt: pulumi.Output<string>[] = [];
  for (const [service, cloudRun] of deployed) {
    outputs[`${service}Url`] = cloudRun.uri;
    outputs[`${service}ServiceAccount`] = cloudRun.serviceAccountEmail;
    tryIt.push(tryItLine(service, cloudRun.uri, accountEmail));
  }
  outputs.commands = pulumi.all(tryIt).apply((lines) => lines.join("\n"));
  return outputs;
}

/** A command to paste, followed by the answer it should get. */
function tryItLine(
  service: string,
  uri: pulumi.Output<string>,
  accountEmail: (service: string) => pulumi.Output<string>,
): pulumi.Output<string> {
  if (!isPublic(TOPOLOGY, service)) {
    const allowed = pulumi
      .all(invokersOf(TOPOLOGY, service).map(accountEmail))
      .apply((emails) => emails.join(", "));
    return pulumi.interpolate`curl -i ${uri}   # 403 Forbidden: no ID token, and only ${allowed} may invoke ${service}`;
  }
  const callee = TOPOLOGY[service]?.calls;
  if (callee === undefined) {
    return pulumi.interpolate`curl ${uri}   # 200`;
  }
  return pulumi.interpolate`curl ${uri}   # 200, with ${callee}'s answer naming ${accountEmail(service)} as its caller`;
}

export = () => createStack(loadStackConfig());
