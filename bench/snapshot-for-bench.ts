import { snapshotAvailable, snapshotRepo } from '../support/snapshot.js';

/** The unpacked snapshot for a section, or null (the section says it is skipped) when the tarball is absent. */
export function snapshotForBench(): string | null {
  if (snapshotAvailable()) return snapshotRepo();
  process.stdout.write('  skipped: the snapshot tarball is not available\n');
  return null;
}
