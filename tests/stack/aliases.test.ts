/**
 * Stacks deployed before the target's account and the invoker grant were written in index.ts
 * held both inside the target's component. Aliases make the engine adopt those resources in
 * place: without them, `pulumi up` would delete the old account and create one with the same
 * id, and delete and re-add the grant, leaving the client without access in between. (The
 * Google provider adds aliases of its own, for its types' earlier spellings.)
 */
import { runStack, type StackRun, TYPES } from "../helpers/pulumiMocks";

/** Where the component held its account and its grant: children of the target's component. */
const INSIDE_TARGET_COMPONENT =
  "urn:pulumi:test::cloud-run-private-calls::cloud-run-private-calls:components:CloudRunService$";

let stack: StackRun;
beforeAll(async () => {
  stack = await runStack();
});

test("the target's account answers to the URN it had inside the target's component", () => {
  const account = stack.engine.named(TYPES.account, "target-account");
  expect(account.aliases).toContain(
    `${INSIDE_TARGET_COMPONENT}gcp:serviceaccount/account:Account::target-account`,
  );
  expect(account.urn.startsWith(INSIDE_TARGET_COMPONENT)).toBe(false);
});

test("the invoker grant answers to the URN it had inside the target's component", () => {
  const grant = stack.engine.named(TYPES.runServiceMember, "target-invoker-client");
  expect(grant.aliases).toContain(
    `${INSIDE_TARGET_COMPONENT}gcp:cloudrunv2/serviceIamMember:ServiceIamMember::target-invoker-client`,
  );
  expect(grant.urn.startsWith(INSIDE_TARGET_COMPONENT)).toBe(false);
});

test("the client's account, always written at the top of the program, answers to no URN inside a component", () => {
  const { aliases } = stack.engine.named(TYPES.account, "client-account");
  expect(aliases.filter((urn) => urn.includes(":components:"))).toEqual([]);
});
