/**
 * Opening a host file the planner reads (a checksum-less local source, a git pointer file) only when it
 * is a regular file: opened without following a final link and without blocking, so a FIFO or a device
 * named by a package is never waited on or acted upon.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';

/** The descriptor of the regular file at `path`, or null (absent, a link, a FIFO, a device, unreadable). */
export function openRegularFileNoFollow(path: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    if (fstatSync(fd).isFile()) return fd;
  } catch {
    // unreadable: as absent
  }
  closeSync(fd);
  return null;
}
