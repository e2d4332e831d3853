/**
 * TCP sockets and the processes holding them, read from Linux's /proc: the socket table in
 * /proc/net/tcp and /proc/net/tcp6, and the `socket:[<inode>]` links under /proc/<pid>/fd.
 * Elsewhere than Linux, or where /proc cannot be read, there are no sockets and no holders;
 * another user's processes are never found, since their file descriptors are not ours to read.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** The kernel's state code for a listening socket. */
export const LISTEN = "0A";

export interface TcpSocket {
  localPort: number;
  remotePort: number;
  /** The kernel's state code, two hex digits: `0A` is LISTEN, `01` ESTABLISHED. */
  state: string;
  inode: string;
}

/** Every TCP socket of this network namespace, IPv4's first, then IPv6's. */
export function tcpSockets(): TcpSocket[] {
  const sockets: TcpSocket[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let lines: string[];
    try {
      lines = readFileSync(table, "utf8").split("\n").slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      // sl, local address:port, remote address:port, state, queues, timers, retransmits, uid,
      // timeout, inode: addresses and ports in hex.
      const fields = line.trim().split(/\s+/);
      const [local, remote, state, inode] = [fields[1], fields[2], fields[3], fields[9]];
      if (local === undefined || remote === undefined || state === undefined) continue;
      if (inode === undefined) continue;
      sockets.push({ localPort: portOf(local), remotePort: portOf(remote), state, inode });
    }
  }
  return sockets;
}

function portOf(address: string): number {
  return parseInt(address.slice(address.lastIndexOf(":") + 1), 16);
}

/** The inodes of the sockets process `pid` has file descriptors on; none if it cannot be read. */
export function socketsOf(pid: number): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const inodes: string[] = [];
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.push(match[1]!);
    } catch {
      // The descriptor was closed while we looked.
    }
  }
  return inodes;
}

/** Whether process `pid` has a file descriptor on the socket `inode`. */
export function holdsSocket(pid: number, inode: string): boolean {
  return socketsOf(pid).includes(inode);
}

/** The pids of every process /proc lists, in no particular order; none where it cannot be read. */
export function processIds(): number[] {
  try {
    return readdirSync("/proc")
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}
