/**
 * A model whose weight arrays live in SharedArrayBuffers, so worker threads (serve's ScorePool, the monitor's
 * scoring worker) build an IpInsightsModel over the same memory instead of a copy each.
 */
import { IpInsightsModel } from './index.js';
import type { Layer, Weights } from './model.js';

/** Copies every weight array of a model into SharedArrayBuffers (same values), for sharing with workers. */
export function shareModel(model: IpInsightsModel): IpInsightsModel {
  const w = model.weights;
  const layers: Layer[] = w.layers.map((l) => ({ weight: l.weight ? sharedCopy(l.weight) : null, bias: sharedCopy(l.bias), activation: l.activation }));
  const weights: Weights = {
    ...w,
    entity: sharedCopy(w.entity),
    ip: sharedCopy(w.ip),
    layers,
    population: sharedCopy(w.population),
    knownFp: sharedCopy(w.knownFp),
    knownCount: sharedCopy(w.knownCount),
  };
  return new IpInsightsModel(model.path, model.header, weights);
}

function sharedCopy<T extends Float32Array | Float64Array | Uint32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as { new (buf: SharedArrayBuffer): T };
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}
