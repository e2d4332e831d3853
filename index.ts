/**
 * The stack: a private **target** service, a **client** service that runs as its own service
 * account, and **one grant** between them: `roles/run.invoker` on the target for the client's
 * account. Nothing else is granted to anyone, and nothing at project level.
 *
 * Read top to bottom: config, the retry while Google propagates, APIs, registry, images, both
 * service accounts, the wait for a working chain, the target, the client, the grant, the
 * outputs. Pulumi calls the exported function to run the program; tests call the same
 * function under mocks, once per configuration.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { chainReadyHooks } from "./components/chainReadyHook";
import { CloudRunService } from "./components/cloudRunService";
import { ContainerImage } from "./components/containerImage";
import { imageRegistry } from "./components/imageRegistry";
import { propagationRetry, STACK_APIS } from "./components/propagationRetry";
import { loadStackConfig } from "./config";
import * as services from "./services/wiring";
import { imageArguments } from "./services/nodeCommand";

export = () => {
  const config = loadStackConfig();
  // Ids and e-mails are known before the accounts exist, so the target can name its one caller.
  const accounts = services.serviceAccounts(config.namePrefix, config.project);

  // Enabling an API, or creating a service account, is eventually consistent: what uses it
  // right after can fail with "API has not been used in project … or it is disabled" or
  // "Service account … does not exist". This error hook retries exactly those failures, every
  // 15 s for up to 5 minutes, naming what it waits for; a run that needs no wait pays none.
  const hooks = { onError: [propagationRetry()] };

  // The APIs the stack calls (run, artifactregistry, iam). Other workloads may rely on them
  // too, so destroying the stack leaves them enabled. Cloud Resource Manager and Service Usage
  // must already be on: the provider needs them to enable any API (docs/deploying.md).
  const apis = STACK_APIS.map((service) => {
    const name = service.replace(".googleapis.com", "-api");
    return new gcp.projects.Service(name, { service, disableOnDestroy: false }, { hooks });
  });
  const afterApis = { dependsOn: apis, hooks };

  // The images' repository keeps recent versions and drops untagged ones (imageRetention).
  const registry = imageRegistry(
    config.namePrefix,
    config.region,
    config.imageRetention,
    afterApis,
  );

  // One Dockerfile builds both images; the SERVICE build argument picks the bundle.
  const image = (service: "target" | "client") =>
    new ContainerImage(service, {
      repositoryUrl: registry.registryUri,
      context: ".",
      dockerfile: "services/Dockerfile",
      imageName: service,
      buildArgs: { SERVICE: service },
      buildOnPreview: config.buildOnPreview,
    }).digestReference;

  // Each service runs as an account of its own that holds no project role: the one grant
  // below is all either of them is given.
  const account = (service: "target" | "client", description: string, aliases: pulumi.Alias[]) =>
    new gcp.serviceaccount.Account(
      `${service}-account`,
      { accountId: accounts[service].id, description },
      { ...afterApis, aliases },
    );
  // Stacks deployed before this account was written here held it inside the target's
  // component; the alias keeps that account instead of replacing it.
  const component = "cloud-run-private-calls:components:CloudRunService";
  const targetAccount = account("target", "The target's identity: is invoked, invokes nothing", [
    { parent: `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${component}::target` },
  ]);
  const clientAccount = account("client", "The client's identity: invokes the target", []);

  // What both services share: region, deletion protection, sizes, billing, V8's heap sized to
  // the memory (services/nodeCommand.ts) and the health probe's path.
  const { project, region, deletionProtection, scaling, resources, billing } = config;
  const args = imageArguments(resources.memory);
  const healthPath = services.HEALTH_PATH;
  const runtime = { region, deletionProtection, scaling, resources, billing, args, healthPath };

  // `pulumi up` ends only when the chain works: after the grant or either service changes, a
  // hook calls the client until it answers 200 naming its own account through the target
  // (IAM grants take minutes to reach every front end), and fails with the reason otherwise.
  // Never in preview; off with `waitForChain: false`. The client's URL is read when it runs.
  const chainReady = chainReadyHooks(
    { enabled: config.waitForChain, timeoutMs: config.waitForChainMinutes * 60_000 },
    () => ({ clientUrl: client.uri, clientAccount: clientAccount.email }),
  );

  // The audience of the client's tokens, which a verifying target must know when it starts:
  // the custom audience, or the target's deterministic URL (https://<service>-<project
  // number>.<region>.run.app), known before the target exists.
  const targetName = `${config.namePrefix}-target`;
  const projectNumber = gcp.organizations.getProjectOutput({ projectId: project }).number;
  const audience =
    config.customAudience ??
    pulumi.interpolate`https://${targetName}-${projectNumber}.${region}.run.app`;
  const wiring = { projectId: project, targetAuthMode: config.targetAuthMode, audience };

  // The target: private. Cloud Run's front end lets a request in only with a Google-signed ID
  // token whose principal holds roles/run.invoker on it; the app then admits only the client.
  const target = new CloudRunService(
    "target",
    {
      ...runtime,
      serviceName: targetName,
      serviceAccount: targetAccount,
      description: "Private target: answers only the client's service account",
      image: image("target"),
      env: services.targetEnvironment({ ...wiring, clientEmail: accounts.client.email }),
      ingress: config.targetIngress,
      customAudiences: config.customAudience === undefined ? undefined : [config.customAudience],
      hooks: chainReady.afterUpdate,
    },
    afterApis,
  );

  // The client: public, so `curl` works; it asks its metadata server for an ID token whose
  // audience is the target's URL (or the custom audience) and calls the target with it.
  const client = new CloudRunService(
    "client",
    {
      ...runtime,
      serviceName: `${config.namePrefix}-client`,
      serviceAccount: clientAccount,
      description: "Public client: calls the target with its own identity",
      image: image("client"),
      env: services.clientEnvironment({ ...config, ...wiring, targetUrl: target.uri }),
      ingress: "all",
      publicAccess: config.publicAccess,
      vpcSubnet: config.clientVpcSubnet,
      hooks: chainReady.afterCreateOrUpdate,
    },
    afterApis,
  );

  // THE GRANT: the client's service account may invoke the target. Non-authoritative (one
  // member added to the target's invoker role), on the target only, never on the project.
  // A replaced target starts with an empty IAM policy while the grant's inputs stay the same,
  // so the grant is replaced with it: a new target never lacks it.
  new gcp.cloudrunv2.ServiceIamMember(
    "target-invoker-client",
    {
      project: target.service.project,
      location: target.service.location,
      name: target.service.name,
      role: "roles/run.invoker",
      member: clientAccount.member,
    },
    {
      ...afterApis,
      hooks: { ...hooks, ...chainReady.afterCreateOrUpdate },
      replaceWith: [target.service],
      // Stacks deployed before the grant was written here held it inside the target's
      // component; the alias keeps that grant instead of deleting and re-adding the member.
      aliases: [{ parent: target }],
    },
  );

  // What `curl -i <target>` answers: internal ingress turns away callers outside the VPC (404)
  // before IAM looks at them; otherwise IAM refuses a call without a token (403).
  const targetRefusal =
    config.targetIngress === "internal"
      ? "404 Not Found: the target's ingress is internal, and this call comes from outside the VPC"
      : pulumi.interpolate`403 Forbidden: no ID token, and only ${clientAccount.email} may invoke the target`;

  return {
    clientUrl: client.uri,
    targetUrl: target.uri,
    clientServiceAccount: clientAccount.email,
    targetServiceAccount: targetAccount.email,
    // `npm run verify` reads it to know which refusal to expect from the target.
    targetIngress: config.targetIngress,
    commands: pulumi.interpolate`curl ${client.uri}   # 200: the target's answer names ${clientAccount.email} as its caller
curl -i ${target.uri}   # ${targetRefusal}`,
  };
};
