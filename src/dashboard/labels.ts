/**
 * Analyst labels on findings, kept durably in `<lake>/_seclake/labels.jsonl`: one JSON object per line,
 * `{"finding_uid","entity","ip","label":"true_positive"|"false_positive","at"}`, the format `seclake calibrate --labels`
 * reads. Lines are only appended (and fsynced); the latest line for a finding is its current label.
 */
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { AnalystLabel } from '../calibrate/inputs.js';
import { META_DIR } from '../lake/layout.js';
import { fileStamp } from './reader.js';

export const LABELS_FILE = 'labels.jsonl';

export interface LabelRecord {
  finding_uid: string;
  entity: string;
  ip: string;
  label: AnalystLabel;
  at: string;
}

export function labelsPath(lakeDir: string): string {
  return path.join(lakeDir, META_DIR, LABELS_FILE);
}

export function isAnalystLabel(x: unknown): x is AnalystLabel {
  return x === 'true_positive' || x === 'false_positive';
}

export class LabelStore {
  readonly file: string;
  private cache: { stamp: string; latest: Map<string, LabelRecord> } | undefined;

  constructor(lakeDir: string) {
    this.file = labelsPath(lakeDir);
  }

  stamp(): string {
    return fileStamp(this.file);
  }

  /** The current label of every labelled finding (latest line wins). Torn or foreign lines are skipped. */
  latest(): Map<string, LabelRecord> {
    const stamp = this.stamp();
    if (this.cache?.stamp === stamp) return this.cache.latest;
    const latest = new Map<string, LabelRecord>();
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      // no labels yet
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const o = JSON.parse(line) as Partial<LabelRecord>;
        if (typeof o.finding_uid === 'string' && isAnalystLabel(o.label)) {
          latest.set(o.finding_uid, { finding_uid: o.finding_uid, entity: String(o.entity ?? ''), ip: String(o.ip ?? ''), label: o.label, at: String(o.at ?? '') });
        }
      } catch {
        // a torn last line (crash mid-append) or a hand-edited line
      }
    }
    this.cache = { stamp, latest };
    return latest;
  }

  /** Appends one label line durably and returns it. */
  add(rec: Omit<LabelRecord, 'at'>, now = new Date()): LabelRecord {
    const full: LabelRecord = { finding_uid: rec.finding_uid, entity: rec.entity, ip: rec.ip, label: rec.label, at: now.toISOString() };
    mkdirSync(path.dirname(this.file), { recursive: true });
    appendFileSync(this.file, JSON.stringify(full) + '\n');
    const fd = openSync(this.file, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return full;
  }
}
