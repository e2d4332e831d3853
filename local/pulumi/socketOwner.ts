/**
 * Which local process is at the other end of a loopback TCP connection, read from Linux's
 * /proc: the connection's socket inode from /proc/net/tcp (or tcp6), then the process whose
 * file descriptors hold that socket. The local Cloud Run uses it to tell a call that leaves a
 * service through its VPC (Direct VPC egress) from a call from anywhere else. Elsewhere than
 * Linux, no process is ever found.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** The inode of the socket whose own port is `port` and whose peer's port is `peerPort`. */
function socketInode(port: number, peerPort: number): string | undefined {
  const hex = (value: number) => value.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let lines: string[];
    try {
      lines = readFileSync(table, "utf8").split("\n").slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      const [local, remote, inode] = [fields[1], fields[2], fields[9]];
      if (local?.endsWith(`:${hex(port)}`) && remote?.endsWith(`:${hex(peerPort)}`)) return inode;
    }
  }
  return undefined;
}

function holdsSocket(pid: number, inode: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/**
 * Whether one of `pids` made the connection that reached this server at `serverPort` from
 * `peerPort`.
 */
export function connectedFromAnyOf(
  pids: readonly number[],
  serverPort: number,
  peerPort: number,
): boolean {
  const inode = socketInode(peerPort, serverPort);
  return inode !== undefined && pids.some((pid) => holdsSocket(pid, inode));
}
