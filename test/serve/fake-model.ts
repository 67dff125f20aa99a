/**
 * A tiny deterministic stand-in for IpInsightsModel plus a codec, for tests of the server layers that
 * do not depend on the real model (routing, errors, reload, auth). Real-model tests use the detector.
 */
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import { ParseError } from '../../src/core/errors.js';
import type { WireCodec } from '../../src/serve/app.js';
import type { Pair } from '../../src/serve/formats.js';
import type { ScoreResultLike, ServableModel } from '../../src/serve/registry.js';

export class FakeModel implements ServableModel {
  readonly path: string;
  /** Added to every score, so tests can tell model versions apart. */
  readonly bias: number;
  /** scorePairs blocks (busy-waits) this long, to hold requests in flight. */
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

  scorePairs(pairs: Pair[], opts: { verbose?: boolean } = {}): ScoreResultLike[] {
    if (this.delayMs > 0) {
      const until = Date.now() + this.delayMs;
      while (Date.now() < until) {
        /* hold the request */
      }
    }
    return pairs.map((p, i) => {
      if (isIP(p.ip) === 0) throw new ParseError(`invalid IP address '${p.ip}'`, { file: 'pair', line: i + 1 });
      const e = vec(p.entity);
      const v = vec(p.ip);
      let dot = 0;
      for (let k = 0; k < e.length; k++) dot += e[k]! * v[k]!;
      dot += this.bias;
      return opts.verbose ? { dot_product: dot, entity_embedding: e, ip_embedding: v } : { dot_product: dot };
    });
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

export const fakeCodec: WireCodec = {
  isValidIp: (ip) => isIP(ip) !== 0,
  parseCsvPairs(body: string, source: string): Pair[] {
    const out: Pair[] = [];
    const lines = body.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.replace(/\r$/, '');
      if (line.trim() === '') continue;
      const cols = line.split(',');
      if (cols.length !== 2) throw new ParseError(`expected 2 columns (entity, ip), got ${cols.length}`, { file: source, line: i + 1 });
      const ip = cols[1]!.trim();
      if (isIP(ip) === 0) throw new ParseError(`invalid IP address '${ip}'`, { file: source, line: i + 1 });
      out.push({ entity: cols[0]!.trim(), ip });
    }
    return out;
  },
  formatPredictions(results, accept, verbose): string {
    const one = (r: ScoreResultLike): string =>
      verbose
        ? `{"dot_product": ${r.dot_product}, "entity_embedding": [${r.entity_embedding!.join(', ')}], "ip_embedding": [${r.ip_embedding!.join(', ')}]}`
        : `{"dot_product": ${r.dot_product}}`;
    if (accept === 'application/jsonlines') return results.map(one).join('\n') + '\n';
    return `{"predictions": [${results.map(one).join(', ')}]}`;
  },
};
