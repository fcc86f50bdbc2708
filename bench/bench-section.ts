/** One section of `npm run bench`: a name to select it by, and what it measures (it prints its own lines). */
export interface BenchSection {
  name: string;
  run: () => Promise<void>;
}
