/** The local stack as tests share it: one per block of tests, on ports the system picks. */
import { type LocalStack, type LocalStackOptions, startLocalStack } from "../../local/stack";

/**
 * Starts a local stack before the tests of the enclosing block and stops it after them. The
 * function it returns hands the running stack to a test.
 */
export function sharedLocalStack(options: LocalStackOptions = {}): () => LocalStack {
  let stack: LocalStack | undefined;
  beforeAll(async () => {
    stack = await startLocalStack({ basePort: 0, ...options });
  });
  afterAll(() => stack?.stop());
  return () => {
    if (stack === undefined) throw new Error("the shared local stack did not start");
    return stack;
  };
}
