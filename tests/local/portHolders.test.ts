import net from "node:net";
import path from "node:path";
import { freePort } from "../../local/launcher";
import { portHolders } from "../../local/portHolders";

const listeners: net.Server[] = [];

afterEach(async () => {
  await Promise.all(
    listeners.splice(0).map((server) => new Promise((closed) => server.close(closed))),
  );
});

/** A plain listener in this process; `host` undefined listens on every address, IPv6's if any. */
async function listen(host?: string): Promise<number> {
  const server = net.createServer();
  listeners.push(server);
  await new Promise<void>((listening) => server.listen(0, host, listening));
  return (server.address() as net.AddressInfo).port;
}

/** What this process is named as a holder: the script it runs, e.g. jest's worker. */
const THIS_PROCESS = path.basename(process.argv[1]!);

// /proc is Linux's; elsewhere no holder is ever found.
const onLinux = process.platform === "linux" ? describe : describe.skip;

onLinux("the holders of a port", () => {
  it("are this process, by its pid and its script's name, for a listener this process opened on loopback", async () => {
    const port = await listen("127.0.0.1");
    expect(portHolders(port)).toEqual([{ pid: process.pid, name: THIS_PROCESS }]);
  });

  it("are found for a listener on every address too, which Linux lists as IPv6's when it has IPv6", async () => {
    const port = await listen();
    expect(portHolders(port)).toEqual([{ pid: process.pid, name: THIS_PROCESS }]);
  });
});

describe("a free port", () => {
  it("has no holder", async () => {
    expect(portHolders(await freePort())).toEqual([]);
  });
});
