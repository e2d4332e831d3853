/**
 * The stack: a private **target** service, a **client** service that runs as its own service
 * account, and **one grant** between them: `roles/run.invoker` on the target for the client's
 * account. Nothing else is granted to anyone, and nothing at project level.
 *
 * Read top to bottom: config, the retry while Google propagates, APIs, registry, both service
 * accounts, the audience, the target and the client (each with its image), the grant, the wait
 * for a working chain, the outputs. Pulumi calls the exported function to run the program;
 * tests call the same function under mocks, once per configuration.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { CloudRunService } from "./components/cloudRunService";
import { ContainerImage } from "./components/containerImage";
import { imageRegistry } from "./components/imageRegistry";
import { enableStackApis } from "./components/stackApis";
import { loadStackConfig } from "./config";
import { curlCommands } from "./deploy/curlCommands";
import { propagationRetry } from "./deploy/propagationRetry";
import { WorkingChain } from "./deploy/workingChain";
import * as wiring from "./services/wiring";

export = () => {
  const config = loadStackConfig();
  const { project, region, namePrefix, buildOnPreview, targetAuthMode, tokenHeader } = config;
  // Names and e-mails are known before anything exists, so the target can name its one caller.
  const names = wiring.serviceNames(namePrefix);
  const accounts = wiring.serviceAccounts(namePrefix, project);

  // Enabling an API, or creating a service account, is eventually consistent: what uses it
  // right after can fail with "API has not been used in project … or it is disabled" or
  // "Service account … does not exist". This error hook retries exactly those failures, every
  // 15 s for up to 5 minutes, naming what it waits for; a run that needs no wait pays none.
  const hooks = { onError: [propagationRetry()] };

  // The APIs the stack calls (run, artifactregistry, iam), left enabled on destroy: other
  // workloads may rely on them. Cloud Resource Manager and Service Usage must already be on:
  // the provider needs them to enable any API (docs/deploying.md).
  const afterApis = { dependsOn: enableStackApis({ hooks }), hooks };

  // The images' repository, `<prefix>-images`, keeps recent versions and drops untagged ones.
  // Both images are built from services/Dockerfile, for the target and the client below.
  const registry = imageRegistry(config, afterApis).registryUri;

  // Each service runs as an account of its own that holds no project role: the one grant
  // below is all either of them is given.
  const targetAccount = new gcp.serviceaccount.Account(
    "target-account",
    { accountId: accounts.target.id, description: "The target's identity: invokes nothing" },
    afterApis,
  );
  const clientAccount = new gcp.serviceaccount.Account(
    "client-account",
    { accountId: accounts.client.id, description: "The client's identity: invokes the target" },
    afterApis,
  );

  // The audience of the client's tokens, which a verifying target must know when it starts:
  // the custom audience, or the target's deterministic URL (https://<service>-<project
  // number>.<region>.run.app), known before the target exists.
  const projectNumber = gcp.organizations.getProjectOutput({ projectId: project }).number;
  const runAppUrl = pulumi.interpolate`https://${names.target}-${projectNumber}.${region}.run.app`;
  const audience = config.customAudience ?? runAppUrl;
  // What both services' environments are built from; each builder takes only what it names.
  const envInputs = { project, audience, targetAuthMode };

  // What both services share: region, deletion protection, sizes, billing, V8's heap sized to
  // the memory (services/nodeCommand.ts's rule) and the health probe's path.
  const containerArgs = wiring.imageArguments(config.cloudRun.resources.memory);
  const healthPath = wiring.HEALTH_PATH;
  const bothServices = { ...config.cloudRun, region, containerArgs, healthPath };

  // The target: private. Cloud Run's front end lets a request in only with a Google-signed ID
  // token whose principal holds roles/run.invoker on it; the app then admits only the client.
  const target = new CloudRunService(
    "target",
    {
      ...bothServices,
      serviceName: names.target,
      serviceAccount: targetAccount,
      description: "Private target: answers only the client's service account",
      image: new ContainerImage("target", { registry, buildOnPreview }).digestReference,
      env: wiring.targetEnvironment({ ...envInputs, clientEmail: accounts.client.email }),
      ingress: config.targetIngress,
      customAudience: config.customAudience,
    },
    afterApis,
  );

  // The client: public, so `curl` works; it asks its metadata server for an ID token whose
  // audience is the target's URL (or the custom audience) and calls the target with it.
  const client = new CloudRunService(
    "client",
    {
      ...bothServices,
      serviceName: names.client,
      serviceAccount: clientAccount,
      description: "Public client: calls the target with its own identity",
      image: new ContainerImage("client", { registry, buildOnPreview }).digestReference,
      env: wiring.clientEnvironment({ ...envInputs, tokenHeader, targetUrl: target.uri }),
      ingress: "all",
      publicAccess: config.publicAccess,
      vpcSubnet: config.clientVpcSubnet,
    },
    afterApis,
  );

  // THE GRANT: the client's service account may invoke the target. Non-authoritative (one
  // member added to the target's invoker role), on the target only, never on the project.
  // A replaced target starts with an empty IAM policy while the grant's inputs stay the same,
  // so the grant is replaced with it: a new target never lacks it. Under deletion protection
  // Pulumi refuses to delete it, as it refuses the services: a refused destroy must not leave
  // them without their grant.
  const grant = new gcp.cloudrunv2.ServiceIamMember(
    "target-invoker-client",
    {
      project: target.service.project,
      location: target.service.location,
      name: target.service.name,
      role: "roles/run.invoker",
      member: clientAccount.member,
    },
    { hooks, replaceWith: [target.service], protect: config.cloudRun.deletionProtection },
  );

  // `pulumi up` ends only when the chain works: after the grant or either service changes, it
  // calls the client until it answers 200 naming its own account through the target (IAM
  // grants take minutes to reach every front end), and fails with the reason otherwise, again
  // at every `up` until the chain has worked once. Never in preview; off with waitForChain false.
  const chain = { target, client, grant, clientAccount };
  if (config.waitForChain) new WorkingChain("working-chain", chain, config);

  return {
    clientUrl: client.uri,
    targetUrl: target.uri,
    clientServiceAccount: clientAccount.email,
    targetServiceAccount: targetAccount.email,
    // `npm run verify` reads it to know which refusal to expect from the target.
    targetIngress: config.targetIngress,
    // What to paste to see the chain work and the target refuse a call without a token.
    commands: curlCommands(chain, config.targetIngress),
  };
};
