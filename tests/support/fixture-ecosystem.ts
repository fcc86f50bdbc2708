/**
 * The tests' name for the shell fixture ecosystem instantiated in a temp folder (support/, shared with
 * bench/). Kept so the tests import their support from one folder.
 */
export * from '../../support/fixture-ecosystem.js';
