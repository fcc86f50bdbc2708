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
 * universe holds already, read in place as its lists of candidates), and a package reaching it is a
 * `possible` predecessor of its members. Tarjan's strongly connected components, walked with work lists.
 */
export function cycleSuspects(
  size: number,
  possible: (i: number) => readonly Successors[],
  forced: (i: number) => readonly number[],
): Uint8Array {
  const forcedMemo = new Map<number, readonly number[]>();
  const forcedOf = (i: number): readonly number[] => {
    let f = forcedMemo.get(i);
    if (f === undefined) forcedMemo.set(i, (f = forced(i)));
    return f;
  };
  const mayCycle = onCycles(size, possible);
  const suspect = onCycles(size, (i) => (mayCycle[i] === 1 ? [{ candidates: forcedOf(i).filter((j) => mayCycle[j] === 1) }] : []));
  if (!suspect.includes(1)) return suspect;
  // Everything that reaches a forced cycle by forced edges: backwards from its members (predecessors
  // in one array, each node's from `start[j]` to `start[j + 1]`).
  const start = new Int32Array(size + 1);
  for (let i = 0; i < size; i++) {
    for (const { candidates: succ } of possible(i)) for (let k = 0; k < succ.length; k++) if (succ[k] !== i) start[succ[k] + 1]++;
  }
  for (let j = 0; j < size; j++) start[j + 1] += start[j];
  const preds = new Int32Array(start[size]);
  const fill = start.slice(0, size);
  for (let i = 0; i < size; i++) {
    for (const { candidates: succ } of possible(i)) for (let k = 0; k < succ.length; k++) if (succ[k] !== i) preds[fill[succ[k]]++] = i;
  }
  const queue: number[] = [];
  for (let i = 0; i < size; i++) if (suspect[i] === 1) queue.push(i);
  while (queue.length > 0) {
    const j = queue.pop() as number;
    for (let x = start[j]; x < start[j + 1]; x++) {
      const i = preds[x];
      if (suspect[i] === 0 && forcedOf(i).includes(j)) {
        suspect[i] = 1;
        queue.push(i);
      }
    }
  }
  return suspect;
}

/** A list of a node's successors (a universe's dependency clause is one: its candidates). */
interface Successors {
  readonly candidates: ArrayLike<number>;
}

/** The nodes in a strongly connected component of more than one node; a node's successors come as lists. */
function onCycles(size: number, successors: (i: number) => readonly Successors[]): Uint8Array {
  const index = new Int32Array(size).fill(-1);
  const low = new Int32Array(size);
  const onStack = new Uint8Array(size);
  const stack: number[] = [];
  const suspect = new Uint8Array(size);
  // The work list: per entry its node, its successor lists, and where it is in them (list, position).
  const workNode: number[] = [];
  const workLists: (readonly Successors[])[] = [];
  const workList: number[] = [];
  const workPos: number[] = [];
  let counter = 0;
  const enter = (v: number): void => {
    index[v] = low[v] = counter++;
    stack.push(v);
    onStack[v] = 1;
    workNode.push(v);
    workLists.push(successors(v));
    workList.push(0);
    workPos.push(0);
  };
  for (let root = 0; root < size; root++) {
    if (index[root] >= 0) continue;
    enter(root);
    while (workNode.length > 0) {
      const top = workNode.length - 1;
      const v = workNode[top];
      const lists = workLists[top];
      let w = -1;
      while (workList[top] < lists.length) {
        const list = lists[workList[top]].candidates;
        if (workPos[top] < list.length) {
          w = list[workPos[top]++];
          break;
        }
        workList[top]++;
        workPos[top] = 0;
      }
      if (w >= 0) {
        if (w === v) continue;
        if (index[w] < 0) enter(w);
        else if (onStack[w] === 1 && index[w] < low[v]) low[v] = index[w];
        continue;
      }
      workNode.pop();
      workLists.pop();
      workList.pop();
      workPos.pop();
      if (workNode.length > 0) {
        const u = workNode[workNode.length - 1];
        if (low[v] < low[u]) low[u] = low[v];
      }
      if (low[v] !== index[v]) continue;
      // v roots a component: more than one member is a cycle.
      const members: number[] = [];
      let x: number;
      do {
        x = stack.pop() as number;
        onStack[x] = 0;
        members.push(x);
      } while (x !== v);
      if (members.length > 1) for (const m of members) suspect[m] = 1;
    }
  }
  return suspect;
}
