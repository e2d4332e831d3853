/**
 * Which local process is at the other end of a loopback TCP connection, read from Linux's
 * /proc: the connection's socket inode from /proc/net/tcp (or tcp6), then the process whose
 * file descriptors hold that socket. The local Cloud Run uses it to tell a call that leaves a
 * service through its VPC (Direct VPC egress) from a call from anywhere else. Elsewhere than
 * Linux, no process is ever found.
 */
import { holdsSocket, tcpSockets } from "../procNet";

/** The inode of the socket whose own port is `port` and whose peer's port is `peerPort`. */
function socketInode(port: number, peerPort: number): string | undefined {
  return tcpSockets().find((socket) => socket.localPort === port && socket.remotePort === peerPort)
    ?.inode;
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
