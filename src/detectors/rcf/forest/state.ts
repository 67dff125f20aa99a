/**
 * A small versioned binary container for forest and thresholder state: 4-byte magic, u32 version, a JSON header
 * (scalars), then typed arrays, each as (u32 byte length, bytes). Little-endian throughout (typed arrays are written
 * with the host's byte order, which must be little-endian: every platform Node.js runs on is).
 */
import { endianness } from 'node:os';
import { ForestStateError } from './errors.js';

type Typed = Float64Array | Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;
type TypedCtor<A extends Typed> = { new (n: number): A; readonly BYTES_PER_ELEMENT: number };

if (endianness() !== 'LE') throw new Error('seclake RCF state needs a little-endian host');

export class StateWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  constructor(magic: string, version: number, header: Record<string, unknown>) {
    const head = new Uint8Array(8);
    for (let i = 0; i < 4; i++) head[i] = magic.charCodeAt(i);
    new DataView(head.buffer).setUint32(4, version, true);
    this.push(head);
    this.bytes(new TextEncoder().encode(JSON.stringify(header)));
  }

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  /** A length-prefixed byte block (copied). */
  bytes(b: Uint8Array): void {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, b.length, true);
    this.push(len);
    this.push(b.slice());
  }

  array(a: Typed): void {
    this.bytes(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

export class StateReader {
  readonly version: number;
  readonly header: Record<string, unknown>;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private offset = 8;
  private readonly what: string;

  constructor(buf: Uint8Array, magic: string, maxVersion: number, what: string) {
    this.buf = buf;
    this.what = what;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let m = '';
    if (buf.length >= 8) for (let i = 0; i < 4; i++) m += String.fromCharCode(buf[i]!);
    if (m !== magic) throw new ForestStateError(`${what}: not ${what} state (magic ${JSON.stringify(m)}, expected ${magic})`);
    this.version = this.view.getUint32(4, true);
    if (this.version < 1 || this.version > maxVersion) {
      throw new ForestStateError(`${what}: state version ${this.version} is not supported (this build reads 1..${maxVersion})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(this.bytes('header')));
    } catch (err) {
      throw new ForestStateError(`${what}: unreadable header: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ForestStateError(`${what}: header is not an object`);
    }
    this.header = parsed as Record<string, unknown>;
  }

  bytes(name: string): Uint8Array {
    if (this.offset + 4 > this.buf.length) throw new ForestStateError(`${this.what}: truncated before ${name}`);
    const n = this.view.getUint32(this.offset, true);
    this.offset += 4;
    if (this.offset + n > this.buf.length) throw new ForestStateError(`${this.what}: truncated in ${name} (${n} bytes announced)`);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** The next array, which must hold exactly `count` elements. */
  array<A extends Typed>(ctor: TypedCtor<A>, count: number, name: string): A {
    const b = this.bytes(name);
    if (b.length !== count * ctor.BYTES_PER_ELEMENT) {
      throw new ForestStateError(`${this.what}: ${name} has ${b.length} bytes, expected ${count * ctor.BYTES_PER_ELEMENT}`);
    }
    const out = new ctor(count);
    new Uint8Array(out.buffer).set(b);
    return out;
  }

  /** A header field that must be a finite number (an integer within [min, max] when `int`). */
  num(name: string, min: number, max: number, int = true): number {
    const v = this.header[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
      throw new ForestStateError(`${this.what}: header field ${name} is ${JSON.stringify(v)}, expected ${int ? 'an integer' : 'a number'} in [${min}, ${max}]`);
    }
    return v;
  }

  end(): void {
    if (this.offset !== this.buf.length) {
      throw new ForestStateError(`${this.what}: ${this.buf.length - this.offset} trailing bytes after the state`);
    }
  }
}
