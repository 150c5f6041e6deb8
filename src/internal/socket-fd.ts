/**
 * Adopting an inherited file descriptor as `GSK_FD`. Two Node handles on one descriptor abort the
 * process when either closes, so a descriptor that a live handle of this process already owns is
 * refused; Node has no documented way to read a socket's descriptor, so the check walks the
 * active handles (`_getActiveHandles`, `_handle.fd`: undocumented, Unix only).
 */
import { Socket } from "node:net";

import { RC } from "../codes.js";
import { GskError } from "../errors.js";

export function assertFdNotOwned(fd: number): void {
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  for (const h of handles) {
    const owned = (h as { _handle?: { fd?: number } })._handle?.fd;
    if (owned === fd) {
      throw new GskError(
        RC.GSK_IBMI_ERROR_BAD_SOCKET_DESCRIPTOR,
        `GSK_FD ${String(fd)} already belongs to a socket of this process: pass that net.Socket itself, not its descriptor (adopting it twice would abort the process)`,
      );
    }
  }
}

/** Wraps an inherited connected TCP descriptor in a net.Socket that now owns it. */
export function adoptFd(fd: number): Socket {
  assertFdNotOwned(fd);
  try {
    return new Socket({ fd, readable: true, writable: true });
  } catch (error) {
    throw new GskError(RC.GSK_IBMI_ERROR_BAD_SOCKET_DESCRIPTOR, `GSK_FD ${String(fd)} is not a connected socket descriptor (${(error as Error).message})`, { cause: error });
  }
}
