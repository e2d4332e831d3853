/**
 * Which processes hold a TCP port: those with a file descriptor on a socket listening on it,
 * read from Linux's /proc (./procNet). `npm start` names them when its port is taken, so the
 * user stops exactly those and nothing else.
 */
import path from "node:path";
import { readFileSync } from "node:fs";
import { LISTEN, processIds, socketsOf, tcpSockets } from "./procNet";

export interface PortHolder {
  pid: number;
  /** What the process runs: its script's file name (`target.js`), else its program's. */
  name: string;
}

/** A script a program runs: `node dist/target.js` is named `target.js`. */
const SCRIPT = /\.(?:[cm]?[jt]s|py|rb|pl|sh)$/;

/** A process's name from its command line, or undefined once it has ended. */
function processName(pid: number): string | undefined {
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return undefined;
  }
  const script = args.slice(1).find((arg) => !arg.startsWith("-") && SCRIPT.test(arg));
  const program = script ?? args[0];
  return program === undefined ? `process ${pid}` : path.basename(program);
}

/**
 * The processes listening on `port`, on any address, lowest pid first. Empty when none can be
 * found: the port is free, or its holder is another user's process, or this is not Linux.
 */
export function portHolders(port: number): PortHolder[] {
  const inodes = new Set(
    tcpSockets()
      .filter((socket) => socket.state === LISTEN && socket.localPort === port)
      .map((socket) => socket.inode),
  );
  if (inodes.size === 0) return [];
  const holders: PortHolder[] = [];
  for (const pid of processIds().sort((a, b) => a - b)) {
    if (!socketsOf(pid).some((inode) => inodes.has(inode))) continue;
    const name = processName(pid);
    // A process that ended while we looked holds nothing any more.
    if (name !== undefined) holders.push({ pid, name });
  }
  return holders;
}
