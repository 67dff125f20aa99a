/**
 * Consistency checker for a forest: walks every tree and reports what does not hold. Used by the tests after streams
 * of insertions and deletions, and by fromState() (structure only) before a loaded forest is trusted.
 *
 * Per tree: links (children name their parent, the root has none, no node is reached twice), every internal node's
 * mass is the sum of its children's, its cut separates them (left points <= cut < right points), its cached box is
 * exactly the box of the points below it; the leaves reached are exactly the used leaves, with distinct points; the
 * free lists hold exactly the other nodes; the sampler is a max-heap whose entries name each leaf as many times as the
 * leaf's mass, so the sample size equals the tree's mass. Forest-wide: a point's reference count is the number of
 * leaves naming it, and free point indexes have none.
 */
import type { RandomCutForest } from './forest.js';
import { NIL } from './layout.js';

export interface CheckOptions {
  /** Skip what a freshly loaded forest does not have yet: cached boxes, duplicate points. */
  structureOnly?: boolean;
  /** Stop after this many problems (default 20). */
  limit?: number;
}

export function checkForest(f: RandomCutForest, opts: CheckOptions = {}): string[] {
  const problems: string[] = [];
  const limit = opts.limit ?? 20;
  const S = f.sampleSize;
  const NI = Math.max(S - 1, 0);
  const D = f.dimensions;
  const store = f.store;
  const P = store.data;
  const refCount = new Int32Array(store.capacity);
  const say = (msg: string): boolean => {
    problems.push(msg);
    return problems.length >= limit;
  };
  const validId = (id: number): boolean => id < NI || (id >= S && id < 2 * S);

  for (let t = 0; t < f.numTrees && problems.length < limit; t++) {
    const seenNode = new Uint8Array(NI);
    const seenLeaf = new Uint8Array(S);
    const subMass = new Float64Array(NI);
    const lo = new Float64Array(NI * D).fill(Infinity);
    const hi = new Float64Array(NI * D).fill(-Infinity);
    const root = f.root[t]!;
    let treeMass = 0;
    let bad = false;
    if (root !== NIL) {
      if (!validId(root)) {
        say(`tree ${t}: root ${root} is not a node`);
        continue;
      }
      const rootParent = root >= S ? f.leaf(t, root - S, 'parent') : f.node(t, root, 'parent');
      if (rootParent !== NIL) say(`tree ${t}: root ${root} has parent ${rootParent}`);
      // iterative post-order over node ids
      const stack: number[] = [root];
      const expanded = new Uint8Array(NI);
      while (stack.length > 0 && !bad) {
        const n = stack[stack.length - 1]!;
        if (n >= S) {
          stack.pop();
          const s = n - S;
          if (seenLeaf[s]) {
            bad = say(`tree ${t}: leaf ${s} reached twice`) || true;
            break;
          }
          seenLeaf[s] = 1;
          const m = f.leaf(t, s, 'mass');
          const p = f.leaf(t, s, 'point');
          if (m < 1) say(`tree ${t}: leaf ${s} has mass ${m}`);
          if (p < 0 || p >= store.capacity) {
            bad = say(`tree ${t}: leaf ${s} names point ${p}`) || true;
            break;
          }
          refCount[p]!++;
          continue;
        }
        if (!expanded[n]) {
          if (seenNode[n]) {
            bad = say(`tree ${t}: node ${n} reached twice`) || true;
            break;
          }
          seenNode[n] = 1;
          expanded[n] = 1;
          const l = f.node(t, n, 'left');
          const r = f.node(t, n, 'right');
          if (!validId(l) || !validId(r)) {
            bad = say(`tree ${t}: node ${n} has children ${l}, ${r}`) || true;
            break;
          }
          for (const c of [l, r]) {
            const cp = c >= S ? f.leaf(t, c - S, 'parent') : f.node(t, c, 'parent');
            if (cp !== n) say(`tree ${t}: child ${c} of node ${n} names parent ${cp}`);
          }
          if (f.node(t, n, 'cutDim') >= D) {
            bad = say(`tree ${t}: node ${n} cuts dimension ${f.node(t, n, 'cutDim')} of ${D}`) || true;
            break;
          }
          stack.push(r, l);
          continue;
        }
        stack.pop();
        // children done: mass, box, cut
        const l = f.node(t, n, 'left');
        const r = f.node(t, n, 'right');
        let m = 0;
        const dim = f.node(t, n, 'cutDim');
        const cut = f.node(t, n, 'cutVal');
        for (const [c, side] of [
          [l, 0],
          [r, 1],
        ] as const) {
          let cm: number;
          if (c >= S) {
            cm = f.leaf(t, c - S, 'mass');
            const pb = f.leaf(t, c - S, 'point') * D;
            for (let i = 0; i < D; i++) {
              const v = P[pb + i]!;
              if (v < lo[n * D + i]!) lo[n * D + i] = v;
              if (v > hi[n * D + i]!) hi[n * D + i] = v;
            }
            const v = P[pb + dim]!;
            if (side === 0 ? !(v <= cut) : !(v > cut)) say(`tree ${t}: node ${n} cut ${dim}:${cut} puts point ${v} on the wrong side`);
          } else {
            cm = subMass[c]!;
            for (let i = 0; i < D; i++) {
              if (lo[c * D + i]! < lo[n * D + i]!) lo[n * D + i] = lo[c * D + i]!;
              if (hi[c * D + i]! > hi[n * D + i]!) hi[n * D + i] = hi[c * D + i]!;
            }
            if (side === 0 ? !(hi[c * D + dim]! <= cut) : !(lo[c * D + dim]! > cut)) {
              say(`tree ${t}: node ${n} cut ${dim}:${cut} does not separate its children (${side === 0 ? 'left max' : 'right min'} ${side === 0 ? hi[c * D + dim] : lo[c * D + dim]})`);
            }
          }
          m += cm;
        }
        subMass[n] = m;
        if (f.node(t, n, 'mass') !== m) say(`tree ${t}: node ${n} has mass ${f.node(t, n, 'mass')}, its children ${m}`);
        if (!opts.structureOnly) {
          const b = f.boxOf(t, n);
          let rs = 0;
          for (let i = 0; i < D; i++) {
            rs += b.max[i]! - b.min[i]!;
            if (b.min[i] !== lo[n * D + i] || b.max[i] !== hi[n * D + i]) {
              say(`tree ${t}: node ${n} box [${b.min[i]}, ${b.max[i]}] in dimension ${i}, its points span [${lo[n * D + i]}, ${hi[n * D + i]}]`);
              break;
            }
          }
          if (b.rangeSum !== Math.fround(rs)) say(`tree ${t}: node ${n} caches range sum ${b.rangeSum}, its box has ${rs}`);
        }
      }
      if (bad) continue;
      treeMass = root >= S ? f.leaf(t, root - S, 'mass') : subMass[root]!;
    }
    // free lists hold exactly the unused nodes
    let free = 0;
    for (let n = f.freeNode[t]!; n !== NIL; n = f.node(t, n, 'left')) {
      if (n >= NI || seenNode[n] || free > NI) {
        bad = say(`tree ${t}: free node list reaches ${n} (used, out of range or a cycle)`) || true;
        break;
      }
      seenNode[n] = 2;
      free++;
    }
    if (!bad) for (let n = 0; n < NI; n++) if (!seenNode[n]) say(`tree ${t}: node ${n} neither used nor free`);
    let freeLeaves = 0;
    for (let s = f.freeLeaf[t]!; s !== NIL && !bad; s = f.leaf(t, s, 'parent')) {
      if (s >= S || seenLeaf[s] || freeLeaves > S) {
        bad = say(`tree ${t}: free leaf list reaches ${s} (used, out of range or a cycle)`) || true;
        break;
      }
      seenLeaf[s] = 2;
      freeLeaves++;
      if (f.leaf(t, s, 'point') !== -1) say(`tree ${t}: free leaf ${s} names point ${f.leaf(t, s, 'point')}`);
    }
    if (!bad) for (let s = 0; s < S; s++) if (!seenLeaf[s]) say(`tree ${t}: leaf ${s} neither used nor free`);
    if (bad) continue;
    // sampler: a max-heap naming each leaf as often as its mass
    const size = f.heapSize[t]!;
    if (size < 0 || size > S) {
      say(`tree ${t}: sampler size ${size}`);
      continue;
    }
    if (size !== treeMass) say(`tree ${t}: sampler holds ${size} points, the tree's mass is ${treeMass}`);
    const named = new Int32Array(S);
    const hb = t * S;
    for (let k = 0; k < size; k++) {
      const w = f.heapW[hb + k]!;
      if (!Number.isFinite(w)) say(`tree ${t}: sampler weight ${k} is ${w}`);
      if (k > 0 && f.heapW[hb + ((k - 1) >> 1)]! < w) say(`tree ${t}: sampler heap order broken at ${k}`);
      const s = f.heapSlot[hb + k]!;
      if (s >= S || seenLeaf[s] !== 1) say(`tree ${t}: sampler entry ${k} names leaf ${s}, not a used leaf`);
      else named[s]!++;
    }
    for (let s = 0; s < S; s++) {
      if (seenLeaf[s] === 1 && named[s] !== f.leaf(t, s, 'mass')) {
        say(`tree ${t}: leaf ${s} has mass ${f.leaf(t, s, 'mass')} but ${named[s]} sampler entries`);
      }
    }
    if (!opts.structureOnly) {
      const keys = new Set<string>();
      for (let s = 0; s < S; s++) {
        if (seenLeaf[s] !== 1) continue;
        const pb = f.leaf(t, s, 'point') * D;
        const key = Array.from(P.subarray(pb, pb + D)).join(',');
        if (keys.has(key)) say(`tree ${t}: two leaves hold the point (${key})`);
        keys.add(key);
      }
    }
  }
  if (problems.length === 0) {
    const isFree = new Uint8Array(store.capacity);
    for (let k = 0; k < store.top; k++) {
      const i = store.free[k]!;
      if (i < 0 || i >= store.capacity || isFree[i]) say(`point store: free list entry ${k} is ${i}`);
      else isFree[i] = 1;
    }
    for (let i = 0; i < store.capacity && problems.length < limit; i++) {
      if (store.refs[i] !== refCount[i]) say(`point store: point ${i} has ${store.refs[i]} references, ${refCount[i]} leaves name it`);
      if (isFree[i] && refCount[i]! > 0) say(`point store: point ${i} is free but named by ${refCount[i]} leaves`);
      if (!isFree[i] && refCount[i] === 0) say(`point store: point ${i} is neither free nor named`);
    }
  }
  return problems;
}
