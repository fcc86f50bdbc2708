/**
 * The packages every installation of which holds a dependency cycle (no build order), and those that
 * need one of them: the packages on a cycle of forced build edges (a package to the one available
 * candidate of a build dependency: every installation of the package holds it, built before it), and
 * those reaching such a cycle by forced edges. Only they need their installation looked at
 * (build-order.ts `dependencyCycle`), so `installable` over a whole repository solves a few targets
 * more, not all of them.
 *
 * Forced edges cost a formula normalisation per package; they are asked only where they can matter:
 * a forced cycle lies within a cycle of `possible` edges (every candidate of every dependency, which the
 * universe holds already), and a package reaching it is a `possible` predecessor of its members.
 * Tarjan's strongly connected components, walked with work lists.
 */
export function cycleSuspects(
  size: number,
  possible: (i: number) => ArrayLike<number>,
  forced: (i: number) => readonly number[],
): Uint8Array {
  const possibleSucc: ArrayLike<number>[] = [];
  for (let i = 0; i < size; i++) possibleSucc.push(possible(i));
  const forcedMemo = new Map<number, readonly number[]>();
  const forcedOf = (i: number): readonly number[] => {
    let f = forcedMemo.get(i);
    if (f === undefined) forcedMemo.set(i, (f = forced(i)));
    return f;
  };
  const mayCycle = onCycles(size, (i) => possibleSucc[i]);
  const suspect = onCycles(size, (i) => (mayCycle[i] === 1 ? forcedOf(i).filter((j) => mayCycle[j] === 1) : []));
  if (!suspect.includes(1)) return suspect;
  // Everything that reaches a forced cycle by forced edges: backwards from its members.
  const preds: number[][] = Array.from({ length: size }, () => []);
  for (let i = 0; i < size; i++) {
    const succ = possibleSucc[i];
    for (let k = 0; k < succ.length; k++) if (succ[k] !== i) preds[succ[k]].push(i);
  }
  const queue: number[] = [];
  for (let i = 0; i < size; i++) if (suspect[i] === 1) queue.push(i);
  while (queue.length > 0) {
    const j = queue.pop() as number;
    for (const i of preds[j]) {
      if (suspect[i] === 0 && forcedOf(i).includes(j)) {
        suspect[i] = 1;
        queue.push(i);
      }
    }
  }
  return suspect;
}

/** The nodes in a strongly connected component of more than one node. */
function onCycles(size: number, successors: (i: number) => ArrayLike<number>): Uint8Array {
  const succ: ArrayLike<number>[] = [];
  for (let i = 0; i < size; i++) succ.push(successors(i));
  const index = new Int32Array(size).fill(-1);
  const low = new Int32Array(size);
  const onStack = new Uint8Array(size);
  const stack: number[] = [];
  const suspect = new Uint8Array(size);
  let counter = 0;
  for (let root = 0; root < size; root++) {
    if (index[root] >= 0) continue;
    const work: Array<[number, number]> = [[root, 0]];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length > 0) {
      const top = work[work.length - 1];
      const v = top[0];
      if (top[1] < succ[v].length) {
        const w = succ[v][top[1]++];
        if (w === v) continue;
        if (index[w] < 0) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push([w, 0]);
        } else if (onStack[w] === 1 && index[w] < low[v]) low[v] = index[w];
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const u = work[work.length - 1][0];
        if (low[v] < low[u]) low[u] = low[v];
      }
      if (low[v] !== index[v]) continue;
      // v roots a component: more than one member is a cycle.
      const members: number[] = [];
      let w: number;
      do {
        w = stack.pop() as number;
        onStack[w] = 0;
        members.push(w);
      } while (w !== v);
      if (members.length > 1) for (const m of members) suspect[m] = 1;
    }
  }
  return suspect;
}
