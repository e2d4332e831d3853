import { resourcePolicy } from "../policyKinds";
import { UNKNOWN } from "../readers/properties";
import { describeIngress, ingressOf, isCloudRunService } from "../readers/services";
import { INGRESS_ALL, INGRESS_INTERNAL_LOAD_BALANCER, INGRESS_INTERNAL_ONLY } from "../vocabulary";

const ALLOWED_INGRESS: readonly string[] = [INGRESS_ALL, INGRESS_INTERNAL_ONLY];

export const ingressAllOrInternalOnly = resourcePolicy(
  "cloud-run-ingress-all-or-internal-only",
  `Every Cloud Run service sets its ingress to ${INGRESS_ALL} or ${INGRESS_INTERNAL_ONLY}, known at preview; never to the load-balancer setting, which external load balancers reach too.`,
  (args, reportViolation) => {
    if (!isCloudRunService(args.type)) return;
    const ingress = ingressOf(args.type, args.props);
    if (ingress !== UNKNOWN && ingress !== undefined && ALLOWED_INGRESS.includes(ingress)) return;
    reportViolation(
      `Cloud Run service "${args.name}" has ingress ${describeIngress(ingress)}. ` +
        `Set it to ${INGRESS_ALL} or, for a target reached only from the VPC, ${INGRESS_INTERNAL_ONLY}; ${INGRESS_INTERNAL_LOAD_BALANCER} also admits external load balancers.`,
    );
  },
);
