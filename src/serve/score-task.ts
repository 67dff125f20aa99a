/**
 * The serve task of the worker pool (src/detectors/worker-pool.ts): a worker runs scoreBody on a request body, the
 * same parse, predict and format as the main thread.
 */
import type { AnyDetectorModel } from '../detectors/types.js';
import type { AcceptChoice, RequestFormat } from './formats.js';
import { scoreBody, type ScoredBody } from './score-body.js';

export interface ScoreTask {
  fmt: RequestFormat;
  text: string;
  accept: AcceptChoice;
  source: string;
}

export function run(model: AnyDetectorModel, task: ScoreTask): ScoredBody {
  return scoreBody(model, task.fmt, task.text, task.accept, task.source);
}
