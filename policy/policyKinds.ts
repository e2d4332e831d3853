/**
 * The three kinds of policy in the pack, each mandatory. Under `pulumi up` the CLI runs a
 * resource policy on each resource before creating it, and a stack policy only once everything
 * exists, when what it refuses is already in place; at a preview both run before anything
 * exists. So whatever one resource shows is judged by a resource policy, and a stack policy
 * judges only what needs the whole stack.
 */
import type {
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import { StackView } from "./readers/stackView";
import type { StackIntent } from "./stackIntent";

/** Where a configured policy finds the stack's intent, which arrives after the pack starts. */
export type IntentSource = () => StackIntent | undefined;

/** What a configured policy reports when the pack was given no configuration it can read. */
export const WITHOUT_CONFIGURATION =
  "the pack was given no configuration of this program's stack it can read (namePrefix, gcp:project and a valid targetIngress, none of them secret), so it cannot tell which service is meant as what; the stack policies judge the stack instead";

/** A mandatory policy judging one resource before it is created. */
export function resourcePolicy(
  name: string,
  description: string,
  validate: (args: ResourceValidationArgs, reportViolation: ReportViolation) => void,
): ResourceValidationPolicy {
  return { name, description, enforcementLevel: "mandatory", validateResource: validate };
}

/**
 * A mandatory policy judging one resource before it is created against the stack's intent.
 * Without one it declares itself not applicable rather than passing what it did not judge.
 */
export function configuredPolicy(
  name: string,
  description: string,
  intentOf: IntentSource,
  validate: (
    args: ResourceValidationArgs,
    intent: StackIntent,
    reportViolation: ReportViolation,
  ) => void,
): ResourceValidationPolicy {
  return resourcePolicy(name, description, (args, reportViolation) => {
    const intent = intentOf();
    if (intent === undefined) return args.notApplicable(WITHOUT_CONFIGURATION);
    validate(args, intent, reportViolation);
  });
}

/** A mandatory policy judging the stack as a whole, through the links StackView draws. */
export function stackPolicy(
  name: string,
  description: string,
  validate: (view: StackView, reportViolation: ReportViolation) => void,
): StackValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) =>
      validate(new StackView(args.resources), reportViolation),
  };
}
