/** What a Cloud Run service (v2, or v1 with its annotations) does, read from its properties. */
import {
  CLOUD_RUN_V1_SERVICE,
  CLOUD_RUN_V2_SERVICE,
  INGRESS_ALL,
  V1_ANNOTATIONS,
  V1_INGRESS_VALUES,
} from "../vocabulary";
import { asProps, lastSegment, type Maybe, type Props, read, text, UNKNOWN } from "./properties";

export function isCloudRunService(type: string): boolean {
  return type === CLOUD_RUN_V2_SERVICE || type === CLOUD_RUN_V1_SERVICE;
}

function v1Annotation(props: Props, annotation: string): Maybe<string | undefined> {
  return text(() => asProps(asProps(props.metadata)?.annotations)?.[annotation]);
}

/**
 * The service's name in Cloud Run, the last segment of a full resource name: what IAM resources
 * refer to it by.
 */
export function serviceName(props: Props): Maybe<string | undefined> {
  const name = text(() => props.name);
  return typeof name === "string" ? lastSegment(name) : name;
}

/** Whether a service switches Cloud Run's invoker check off; unknown counts as off. */
export function isInvokerCheckDisabled(resource: { type: string; props: Props }): boolean {
  const disabled =
    resource.type === CLOUD_RUN_V2_SERVICE
      ? read(() => resource.props.invokerIamDisabled)
      : v1Annotation(resource.props, V1_ANNOTATIONS.invokerIamDisabled);
  return disabled === UNKNOWN || disabled === true || disabled === "true";
}

/** A service's ingress as Cloud Run v2 spells it; undefined when the service sets none. */
export function ingressOf(type: string, props: Props): Maybe<string | undefined> {
  if (type === CLOUD_RUN_V2_SERVICE) return text(() => props.ingress);
  const annotation = v1Annotation(props, V1_ANNOTATIONS.ingress);
  if (annotation === UNKNOWN) return UNKNOWN;
  // Without the annotation Cloud Run v1 admits all traffic.
  return annotation === undefined ? INGRESS_ALL : (V1_INGRESS_VALUES[annotation] ?? annotation);
}

export function describeIngress(ingress: Maybe<string | undefined>): string {
  return ingress === UNKNOWN ? "not known at preview" : (ingress ?? "unset");
}

/** Whether a service sends all its egress through a VPC; unknown counts as yes. */
export function sendsAllEgressThroughVpc(service: { type: string; props: Props }): boolean {
  const egress =
    service.type === CLOUD_RUN_V2_SERVICE
      ? text(() => asProps(asProps(service.props.template)?.vpcAccess)?.egress)
      : v1Annotation(service.props, V1_ANNOTATIONS.vpcEgress);
  return egress === UNKNOWN || egress === "ALL_TRAFFIC" || egress === "all-traffic";
}

/** The account e-mail a Cloud Run service runs as: UNKNOWN, or undefined when it names none. */
export function runAsEmail(type: string, props: Props): Maybe<string | undefined> {
  const email = text(() => {
    const template = asProps(props.template);
    return type === CLOUD_RUN_V2_SERVICE
      ? template?.serviceAccount
      : asProps(template?.spec)?.serviceAccountName;
  });
  return email === "" ? undefined : email;
}
