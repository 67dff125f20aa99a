/**
 * A tiny deterministic stand-in for a detector's model (its own wire format, `dot_product`-shaped), for tests of the
 * server layers that do not depend on a real model (routing, errors, reload, auth). Real-model tests use the
 * detectors.
 */
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import { ParseError } from '../../src/core/errors.js';
import type { BatchScores, PairRecord, WireFormat } from '../../src/detectors/types.js';
import type { ServablePairsModel } from '../../src/serve/registry.js';

export interface FakePrediction {
  [key: string]: unknown;
  dot_product: number;
  entity_embedding?: number[];
  ip_embedding?: number[];
}

export const fakeWire: WireFormat = {
  formatPredictions(results, accept, verbose): string {
    const one = (p: Record<string, unknown>): string => {
      const r = p as FakePrediction;
      return verbose
        ? `{"dot_product": ${r.dot_product}, "entity_embedding": [${r.entity_embedding!.join(', ')}], "ip_embedding": [${r.ip_embedding!.join(', ')}]}`
        : `{"dot_product": ${r.dot_product}}`;
    };
    if (accept === 'application/jsonlines') return results.map(one).join('\n') + '\n';
    return `{"predictions": [${results.map(one).join(', ')}]}`;
  },
};

export class FakeModel implements ServablePairsModel {
  readonly detector = { type: 'fake', wire: fakeWire };
  readonly path: string;
  /** Added to every score, so tests can tell model versions apart. */
  readonly bias: number;
  /** predict blocks (busy-waits) this long, to hold requests in flight. */
  delayMs = 0;
  constructor(path: string, bias: number) {
    this.path = path;
    this.bias = bias;
  }

  /** File format: `fake-model <bias>`; anything else fails like a corrupt model file. */
  static async load(path: string): Promise<FakeModel> {
    const text = await readFile(path, 'utf8');
    const m = /^fake-model (-?\d+(?:\.\d+)?)(?: delay=(\d+))?\s*$/.exec(text);
    if (!m) throw new Error(`${path}: not a fake model file`);
    const model = new FakeModel(path, Number(m[1]));
    model.delayMs = m[2] ? Number(m[2]) : 0;
    return model;
  }

  predict(pairs: readonly PairRecord[], opts: { verbose?: boolean; source?: string } = {}): FakePrediction[] {
    if (this.delayMs > 0) {
      const until = Date.now() + this.delayMs;
      while (Date.now() < until) {
        /* hold the request */
      }
    }
    return pairs.map((p, i) => {
      if (isIP(p.ip) === 0) throw new ParseError(`invalid IP address '${p.ip}'`, { file: opts.source ?? 'request', line: i + 1, field: 'ip' });
      const e = vec(p.entity);
      const v = vec(p.ip);
      let dot = 0;
      for (let k = 0; k < e.length; k++) dot += e[k]! * v[k]!;
      dot += this.bias;
      return opts.verbose ? { dot_product: dot, entity_embedding: e, ip_embedding: v } : { dot_product: dot };
    });
  }

  scoreBatch(pairs: readonly PairRecord[]): BatchScores {
    const native = new Float64Array(pairs.length);
    pairs.forEach((p, i) => {
      native[i] = isIP(p.ip) === 0 ? Number.NaN : this.predict([p])[0]!.dot_product;
    });
    return { native, known: new Uint8Array(pairs.length).fill(1) };
  }
}

function vec(s: string): number[] {
  let h = 2166136261;
  const out: number[] = [];
  for (let k = 0; k < 4; k++) {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
    h = Math.imul(h ^ k, 16777619) >>> 0;
    out.push(((h % 2000) - 1000) / 1000);
  }
  return out;
}
