/**
 * The points the trees' leaves refer to, shared by all trees of a forest (as the AWS library's PointStore): float32
 * coordinates, `dims` per point, with a reference count per point (how many tree leaves name it) and a free list of
 * indexes. A point is stored once however many trees sample it; when its last leaf goes, its index is reused.
 * Capacity grows by half up to `maxCapacity` (numTrees * sampleSize + 1: every sampled slot plus the point being
 * added).
 */
export class PointStore {
  readonly dims: number;
  readonly maxCapacity: number;
  /** Coordinates, point i at [i*dims, (i+1)*dims). Replaced when the store grows: read it after alloc(). */
  data: Float32Array;
  /** Leaves naming each point; 0 = free. */
  refs: Int32Array;
  /** Stack of free indexes below `top`. */
  free: Int32Array;
  top: number;
  capacity: number;

  constructor(dims: number, maxCapacity: number, initialCapacity: number) {
    this.dims = dims;
    this.maxCapacity = maxCapacity;
    const cap = Math.max(1, Math.min(maxCapacity, initialCapacity));
    this.capacity = cap;
    this.data = new Float32Array(cap * dims);
    this.refs = new Int32Array(cap);
    this.free = new Int32Array(cap);
    // Lowest index on top, so indexes are handed out 0, 1, 2, ...
    for (let i = 0; i < cap; i++) this.free[i] = cap - 1 - i;
    this.top = cap;
  }

  /** A free index (its refs 0; the caller writes the coordinates and takes references). */
  alloc(): number {
    if (this.top === 0) this.grow();
    return this.free[--this.top]!;
  }

  /** Return an index whose references all went (refs must be 0). */
  release(i: number): void {
    this.free[this.top++] = i;
  }

  /** Points in use. */
  get size(): number {
    return this.capacity - this.top;
  }

  private grow(): void {
    const old = this.capacity;
    const cap = Math.min(this.maxCapacity, Math.max(old + 1, Math.ceil(old * 1.5)));
    if (cap <= old) throw new Error(`point store full (${old} points); this is a bug: the trees hold at most ${this.maxCapacity - 1}`);
    const data = new Float32Array(cap * this.dims);
    data.set(this.data);
    const refs = new Int32Array(cap);
    refs.set(this.refs);
    const free = new Int32Array(cap);
    // the new indexes old..cap-1, lowest on top; the old stack was empty
    let k = 0;
    for (let i = cap - 1; i >= old; i--) free[k++] = i;
    this.data = data;
    this.refs = refs;
    this.free = free;
    this.top = k;
    this.capacity = cap;
  }

  /** Bytes of typed-array storage. */
  bytes(): number {
    return this.data.byteLength + this.refs.byteLength + this.free.byteLength;
  }
}
