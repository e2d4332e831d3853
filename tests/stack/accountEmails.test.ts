/**
 * The account e-mails the stack derives before the accounts exist must be the ones Google
 * gives them, or the target admits nobody: plain project ids and domain-scoped ones
 * (`example.com:my-project`, whose accounts live under `my-project.example.com`).
 */
import { serviceAccountEmail, serviceAccounts } from "../../services/wiring";
import { TYPES, envOf, runStack, valueOf } from "../helpers/pulumiMocks";

test("an account in a plain project is <id>@<project>.iam.gserviceaccount.com", () => {
  expect(serviceAccountEmail("s2s-client", "my-project")).toBe(
    "s2s-client@my-project.iam.gserviceaccount.com",
  );
});

test("an account in a domain-scoped project puts the domain after the project's name", () => {
  expect(serviceAccountEmail("s2s-client", "example.com:my-project")).toBe(
    "s2s-client@my-project.example.com.iam.gserviceaccount.com",
  );
  expect(serviceAccounts("s2s", "example.com:my-project").target.email).toBe(
    "s2s-target@my-project.example.com.iam.gserviceaccount.com",
  );
});

test("in a domain-scoped project the target admits the e-mail Google gives the client's account", async () => {
  const { engine, outputs } = await runStack({ "gcp:project": "example.com:my-project" });
  const clientEmail = await valueOf(outputs.clientServiceAccount!);
  expect(clientEmail).toBe("s2s-client@my-project.example.com.iam.gserviceaccount.com");
  expect(envOf(engine.named(TYPES.runService, "target-service")).ALLOWED_INVOKERS).toBe(
    clientEmail,
  );
});
