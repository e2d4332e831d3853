/**
 * What every stand-in Pulumi plugin here does the same way: serve one gRPC service on a loopback
 * port the system picks and print that port on standard output, which is how the Pulumi engine
 * learns where to reach a plugin it started. The engine address comes as the first argument that
 * is not a flag.
 */
import * as grpc from "@grpc/grpc-js";

/** The engine's address from a plugin's command line: `[-flags…] <engine address>`. */
export function engineAddressFrom(argv: readonly string[]): string | undefined {
  return argv.find((arg) => !arg.startsWith("-") && /:\d+$/.test(arg));
}

/** Serves `implementation` of `service` and prints the port once it listens. */
export async function servePlugin<Implementation extends grpc.UntypedServiceImplementation>(
  service: grpc.ServiceDefinition<Implementation>,
  implementation: Implementation,
): Promise<grpc.Server> {
  // Stand-in messages can carry a whole policy pack's output; the engine's own limit is 400 MiB.
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 400 * 1024 * 1024,
    "grpc.max_send_message_length": 400 * 1024 * 1024,
  });
  server.addService(service, implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error === null ? resolve(bound) : reject(error),
    );
  });
  process.stdout.write(`${port}\n`);
  return server;
}

/** A unary handler from an async function: its rejection becomes the call's gRPC error. */
export function unary<Request, Response>(
  handle: (request: Request) => Promise<Response> | Response,
): grpc.handleUnaryCall<Request, Response> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => handle(call.request))
      .then(
        (response) => callback(null, response),
        (error: unknown) =>
          callback({
            code: grpc.status.UNKNOWN,
            details: error instanceof Error ? error.message : String(error),
          }),
      );
  };
}
