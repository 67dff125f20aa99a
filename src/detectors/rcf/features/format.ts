/**
 * Feature values in words, for explanations: "bytes out 2.1 GB in this hour; usually 40 MB".
 */
import type { FeatureScaler } from './scaler.js';
import type { FeatureInfo } from './types.js';

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** A number with at most 3 significant digits ("2.1", "40", "1,234"). */
function short(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1).replace(/\.0$/, '');
  if (a >= 1 || a === 0) return x.toFixed(2).replace(/\.?0+$/, '');
  return x.toPrecision(2);
}

/** A value in its unit: bytes in decimal multiples (kB, MB, GB), shares as percent, counts rounded. */
export function formatFeatureValue(unit: string, value: number): string {
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case 'bytes': {
      // Rounded to 3 significant digits first, so 999,999,999.99 is "1 GB", not "1000 MB".
      let v = Number(value.toPrecision(3));
      let k = 0;
      while (Math.abs(v) >= 1000 && k < BYTE_UNITS.length - 1) {
        v /= 1000;
        k++;
      }
      return `${k === 0 ? Math.round(v) : short(v)} ${BYTE_UNITS[k]}`;
    }
    case 'share':
      return `${short(value * 100)}%`;
    case 'count':
      return Math.round(value).toLocaleString('en-US');
    case 'packets':
      return `${Math.round(value).toLocaleString('en-US')} packets`;
    case 'chars':
      return `${short(value)} chars`;
    case 'bits':
      return `${short(value)} bits/char`;
    default:
      return unit ? `${short(value)} ${unit}` : short(value);
  }
}

/** "this hour", "this 15-minute window", "this day". */
export function windowPhrase(windowMs: number): string {
  if (windowMs === 3_600_000) return 'this hour';
  if (windowMs === 86_400_000) return 'this day';
  if (windowMs % 3_600_000 === 0) return `this ${windowMs / 3_600_000}-hour window`;
  if (windowMs % 60_000 === 0) return `this ${windowMs / 60_000}-minute window`;
  return `this ${windowMs / 1000}-second window`;
}

/** `network.bytes_out` -> "bytes out" (the set is left out: the entity says which source it is). */
export function featureLabel(f: Pick<FeatureInfo, 'feature'>): string {
  return f.feature.replaceAll('_', ' ');
}

/**
 * One feature of a window explained against the entity's history: "bytes out 2.1 GB in this hour; usually 40 MB"
 * (with "(its group's usual)" or "(usual across entities)" when the entity's own history was too thin).
 */
export function explainFeature(scaler: FeatureScaler, featureIndex: number, observed: number, entity: string | undefined, windowMs: number, group?: string): string {
  const u = scaler.describe(entity, featureIndex, group);
  const f = scaler.features[featureIndex]!;
  const whose = u.level === 'entity' ? '' : u.level === 'group' ? ` (usual in ${u.key})` : ' (usual across entities)';
  return `${featureLabel(f)} ${formatFeatureValue(f.unit, observed)} in ${windowPhrase(windowMs)}; usually ${formatFeatureValue(f.unit, u.usual)}${whose}`;
}
