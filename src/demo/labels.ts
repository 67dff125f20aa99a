/**
 * Ground truth of the demo (`labels.jsonl`, one attack per line) and its scoring: the labels format, the matching
 * rules and the measures live in src/calibrate/labels-eval.ts (`seclake evaluate` uses them on any lake; the format
 * is docs/labels.md). The demo's generator writes labels of that format (its record views are records.ts's
 * LabelView).
 */
export * from '../calibrate/labels-eval.js';
