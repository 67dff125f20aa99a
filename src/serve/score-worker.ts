/**
 * Worker thread of the ScorePool: parses a request body, scores it with a shared model and formats the
 * reply, exactly as the main thread would (same parsers, same model code, same formatter).
 */
import { parentPort } from 'node:worker_threads';
import { ParseError, errorMessage } from '../core/errors.js';
import { IpInsightsModel } from '../detectors/ipinsights/index.js';
import { parseIpInto } from '../detectors/ipinsights/ip.js';
import { formatPredictions, parseCsvPairs } from '../detectors/ipinsights/wire.js';
import { parseJsonInstances, parseJsonLines, type Pair } from './formats.js';
import type { FromWorker, ToWorker } from './score-pool.js';

const port = parentPort;
if (!port) throw new Error('score-worker must run in a worker thread');
const models = new Map<number, IpInsightsModel>();
const ipWords = new Uint32Array(4);
const isValidIp = (ip: string): boolean => parseIpInto(ip, ipWords) !== 0;

port.on('message', (msg: ToWorker) => {
  if (msg.t === 'model') {
    models.set(msg.id, new IpInsightsModel(msg.path, msg.header, msg.weights));
    return;
  }
  if (msg.t === 'drop') {
    models.delete(msg.id);
    return;
  }
  let reply: FromWorker;
  try {
    const model = models.get(msg.model);
    if (!model) throw new Error(`model ${msg.model} was not sent to this worker`);
    let pairs: Pair[];
    if (msg.fmt === 'text/csv') pairs = parseCsvPairs(msg.text, msg.source);
    else if (msg.fmt === 'application/json') pairs = parseJsonInstances(msg.text, msg.source, isValidIp);
    else pairs = parseJsonLines(msg.text, msg.source, isValidIp);
    if (pairs.length === 0) throw new ParseError('no records (expected at least one entity, ip pair)', { file: msg.source });
    const results = model.scorePairs(pairs, { verbose: msg.accept.verbose });
    reply = { t: 'done', task: msg.task, body: formatPredictions(results, msg.accept.type, msg.accept.verbose), pairs: pairs.length };
  } catch (err) {
    if (err instanceof ParseError) {
      reply = { t: 'fail', task: msg.task, parse: true, message: stripWhere(err), file: err.file, ...(err.line !== undefined ? { line: err.line } : {}), ...(err.field !== undefined ? { field: err.field } : {}) };
    } else {
      reply = { t: 'fail', task: msg.task, parse: false, message: errorMessage(err) };
    }
  }
  port.postMessage(reply);
});

/** ParseError prefixes its message with "file:line field f: "; send the bare message so the main thread can rebuild it. */
function stripWhere(err: ParseError): string {
  const where = `${err.file}${err.line !== undefined ? `:${err.line}` : ''}${err.field ? ` field ${err.field}` : ''}: `;
  return err.message.startsWith(where) ? err.message.slice(where.length) : err.message;
}
