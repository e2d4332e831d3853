/**
 * What the stack holds, linked: the view every stack policy works from. It tells which service
 * is a **target** (a service someone is granted to invoke, or whose URL another service's
 * configuration was computed from, its **caller**) and which account each service runs as (its
 * **runtime account**), without labels: by the dependencies Pulumi records, by the accounts'
 * e-mail outputs, and by the e-mail Google derives from an account id and project.
 */
import type { PolicyResource } from "@pulumi/policy";
import { SERVICE_ACCOUNT } from "../vocabulary";
import { isEmailOfAccount } from "./accounts";
import {
  accountEmailOf,
  type Grant,
  grantedServiceName,
  type IamResource,
  iamResource,
  isInvokerRole,
  isPublic,
  serviceInput,
} from "./iam";
import { UNKNOWN } from "./properties";
import { isCloudRunService, runAsEmail, serviceName } from "./services";

export interface RuntimeAccount {
  /** The account resource, when the stack creates it. */
  resource: PolicyResource | undefined;
  /** The e-mail a service names, when it is spelled out. */
  email: string | undefined;
  services: PolicyResource[];
}

export function accountName(account: RuntimeAccount): string {
  return account.email ?? account.resource?.name ?? "a runtime account";
}

/** Whether a principal, or the value it was computed from, is this runtime account. */
export function namesAccount(iam: IamResource, grant: Grant, account: RuntimeAccount): boolean {
  if (grant.member === UNKNOWN) {
    return account.resource !== undefined && iam.memberDependencies.includes(account.resource);
  }
  const email = accountEmailOf(grant.member);
  if (email === undefined) return false;
  return (
    email === account.email ||
    (account.resource !== undefined && isEmailOfAccount(email, account.resource))
  );
}

export class StackView {
  readonly services: PolicyResource[];
  readonly accounts: PolicyResource[];
  readonly iam: IamResource[];
  /** The runtime accounts, and the services whose account the pack cannot identify. */
  readonly runtime: { accounts: RuntimeAccount[]; unidentified: PolicyResource[] };

  constructor(resources: PolicyResource[]) {
    this.services = resources.filter((resource) => isCloudRunService(resource.type));
    this.accounts = resources.filter((resource) => resource.type === SERVICE_ACCOUNT);
    this.iam = resources.flatMap(
      (resource) => iamResource(resource, resource.propertyDependencies) ?? [],
    );
    this.runtime = this.linkRuntimeAccounts();
  }

  /**
   * The Cloud Run service an IAM resource grants on, when it is one in this stack: the one its
   * service input was computed from, else the one with that name.
   */
  cloudRunServiceOf(iam: IamResource): PolicyResource | undefined {
    const property = serviceInput(iam);
    if (property === undefined) return undefined;
    const fromDependency = (iam.propertyDependencies[property] ?? []).find((dependency) =>
      isCloudRunService(dependency.type),
    );
    if (fromDependency !== undefined) return fromDependency;
    const name = grantedServiceName(iam);
    if (typeof name !== "string") return undefined;
    return this.services.find((service) => serviceName(service.props) === name);
  }

  /** The services whose configuration was computed from `service`'s: its URL, typically. */
  callersOf(service: PolicyResource): PolicyResource[] {
    return this.services.filter(
      (caller) =>
        caller !== service && (caller.propertyDependencies.template ?? []).includes(service),
    );
  }

  /** The grants of an invoker role on `service` to principals other than the public ones. */
  namedInvokers(service: PolicyResource): { iam: IamResource; grant: Grant }[] {
    return this.iam
      .filter((iam) => this.cloudRunServiceOf(iam) === service)
      .flatMap((iam) =>
        iam.grants
          .filter((grant) => isInvokerRole(grant.role) && !isPublic(grant.member))
          .map((grant) => ({ iam, grant })),
      );
  }

  /** A service someone was given the right to call, or whose URL another service calls. */
  isTarget(service: PolicyResource): boolean {
    return this.namedInvokers(service).length > 0 || this.callersOf(service).length > 0;
  }

  targets(): PolicyResource[] {
    return this.services.filter((service) => this.isTarget(service));
  }

  /** The runtime account a service runs as, if the pack could identify it. */
  accountOf(service: PolicyResource): RuntimeAccount | undefined {
    return this.runtime.accounts.find((account) => account.services.includes(service));
  }

  private linkRuntimeAccounts(): StackView["runtime"] {
    const accounts: RuntimeAccount[] = [];
    const unidentified: PolicyResource[] = [];
    for (const service of this.services) {
      const runAs = runAsEmail(service.type, service.props);
      // A service without an account is refused by cloud-run-service-has-dedicated-account.
      if (runAs === undefined) continue;
      const email = runAs === UNKNOWN ? undefined : runAs;
      const resource =
        (service.propertyDependencies.template ?? []).find(
          (dependency) => dependency.type === SERVICE_ACCOUNT,
        ) ??
        (email === undefined
          ? undefined
          : this.accounts.find((account) => isEmailOfAccount(email, account)));
      if (resource === undefined && email === undefined) {
        unidentified.push(service);
        continue;
      }
      const seen = accounts.find(
        (account) =>
          (resource !== undefined && account.resource === resource) ||
          (email !== undefined && account.email === email),
      );
      if (seen !== undefined) {
        seen.services.push(service);
        seen.email ??= email;
      } else accounts.push({ resource, email, services: [service] });
    }
    return { accounts, unidentified };
  }
}
