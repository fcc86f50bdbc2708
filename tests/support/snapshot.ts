/**
 * The tests' names for what support/ (shared with bench/) holds: the project root and the real
 * opam-repository snapshot and archive. Kept so the tests import their support from one folder.
 */
export { projectRoot } from '../../support/project-root.js';
export * from '../../support/snapshot.js';
