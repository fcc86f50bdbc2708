import { engineSection } from './engine.js';
import { parseSection } from './parse.js';
import { loadSection } from './load.js';
import { compareSection } from './compare.js';
import { buildSection } from './build.js';
import { solveSection } from './solve.js';
import { switchSection } from './switch.js';
import { versusOpamSection } from './versus-opam.js';
import { diskLimitSection } from './disk-limit.js';
import { syntheticSection } from './synthetic.js';
import type { BenchSection } from './bench-section.js';
import { planCompilersSection } from './plan-compilers.js';

/** One entry per benchmark file; each file exports its section. */
export const benchSections: BenchSection[] = [
  engineSection,
  parseSection,
  loadSection,
  compareSection,
  buildSection,
  solveSection,
  switchSection,
  diskLimitSection,
  versusOpamSection,
  syntheticSection,
  planCompilersSection,
];
