import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ParseError, errorMessage } from '../../core/errors.js';
import type { FeaturesModel, ResponseType } from '../../detectors/types.js';

interface ScoreCliOptions {
  model: string;
  input: string;
  accept: ResponseType;
  verbose?: boolean;
}

/** Score this many pairs per call, so huge inputs stream out instead of building one giant array of results. */
const CHUNK = 10_000;

function readInput(file: string): string {
  let buf: Buffer;
  try {
    buf = file === '-' ? readFileSync(0) : readFileSync(file);
  } catch (err) {
    throw new ParseError(`cannot read: ${errorMessage(err)}`, { file, kind: 'total' }, { cause: err });
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  return buf.toString('utf8');
}

export function registerScore(program: Command): void {
  program
    .command('score')
    .description(
      "Score records with a model of any detector; prints the endpoint's response body. Pairs models (IP Insights: " +
        "SageMaker's, dot_product: larger = more normal; history: prefix_score: larger = more familiar) read entity,ip " +
        "CSV; feature models (rcf: SageMaker RCF's, score: larger = more anomalous) read rows of numbers.",
    )
    .requiredOption('--model <path>', 'model file (from seclake train)')
    .requiredOption('--input <file>', "CSV: entity,ip per line for pairs models, feature_dim numbers per line for rcf (a header line of names allowed); '-' = stdin, gzip allowed")
    .addOption(new Option('--accept <type>', 'response format (text/csv: rcf only, one score per line)').choices(['application/json', 'application/jsonlines', 'text/csv']).default('application/json'))
    .option('--verbose', "the detector's verbose fields (IP Insights: entity_embedding and ip_embedding, as SageMaker's verbose=True; rcf: the attribution, high and low per feature, summing to the score); unknown entities get \"entity_known\": false")
    .addHelpText(
      'after',
      `
Output is byte-for-byte what the model's endpoint returns (\`seclake serve\`; for IP Insights, a SageMaker endpoint):
  application/json       {"predictions": [{"dot_product": 1.23}, ...]}
  application/jsonlines  {"dot_product": 1.23} per line
A history model answers {"prefix_score": ...} the same way. An rcf model answers as SageMaker RCF:
  application/json       {"scores":[{"score":0.91},...]}
  application/jsonlines  {"score":0.91} per line
  text/csv               0.91 per line
A malformed input line (wrong column count, empty entity, invalid IP) is an error naming the line.
Entities never seen in training are scored against the population of trained entities; a count of them
is printed on stderr.

Examples:
  seclake score --model ipi.model --input pairs.csv
  seclake score --model ipi.model --input pairs.csv --accept application/jsonlines --verbose
  seclake score --model rcf.model --input features.csv --verbose`,
    )
    .action(async (o: ScoreCliOptions) => {
      const [{ applyEntityThresholds }, { isFeaturesModel, loadModel, pairsModel }, { parseCsvPairs }] = await Promise.all([
        import('../../detectors/calibration.js'),
        import('../../detectors/index.js'),
        import('../../detectors/pairs/csv.js'),
      ]);
      const loaded = await loadModel(o.model);
      if (isFeaturesModel(loaded)) return scoreFeatures(loaded, o);
      if (o.accept === 'text/csv') throw new ParseError('--accept text/csv is for rcf models; pairs models answer application/json or application/jsonlines', { file: o.model });
      const model = pairsModel(loaded, '`seclake score` of a pairs CSV');
      const wire = model.detector.wire;
      const source = o.input === '-' ? '(stdin)' : o.input;
      const pairs = parseCsvPairs(readInput(o.input), source);
      const verbose = o.verbose === true;
      const out = process.stdout;
      let unknown = 0;
      const json = o.accept === 'application/json';
      if (json) out.write('{"predictions": [');
      for (let i = 0; i < pairs.length; i += CHUNK) {
        const chunk = pairs.slice(i, i + CHUNK);
        const results = model.predict(chunk, { verbose, source });
        // Per-entity calibration: is_anomaly against the entity's own threshold (thresholdFor).
        if (verbose) applyEntityThresholds(results, chunk, model.calibration, model.detector.score.name);
        for (const r of results) if (r.entity_known === false) unknown++;
        const body = wire.formatPredictions(results, 'application/jsonlines', verbose);
        if (json) {
          // The JSON array's members are exactly the JSON Lines records, joined with ", ".
          const members = body.slice(0, -1).split('\n').join(', ');
          out.write((i > 0 ? ', ' : '') + members);
        } else {
          out.write(body);
        }
      }
      // Exactly the endpoint's body: no trailing newline after the JSON document.
      if (json) out.write(']}');
      if (unknown > 0) {
        process.stderr.write(
          `seclake score: ${unknown} of ${pairs.length} pairs have entities not seen in training (scored against the population; "entity_known": false with --verbose)\n`,
        );
      }
    });
}

/** Score rows of numbers with a features model, in chunks, writing SageMaker RCF's body. */
async function scoreFeatures(model: FeaturesModel, o: ScoreCliOptions): Promise<void> {
  const { parseFeatureCsv } = await import('../../detectors/rcf/csv.js');
  const source = o.input === '-' ? '(stdin)' : o.input;
  const m = parseFeatureCsv(readInput(o.input), source);
  const verbose = o.verbose === true;
  const wire = model.detector.wire;
  const out = process.stdout;
  const json = o.accept === 'application/json';
  if (json) out.write('{"scores":[');
  for (let i = 0; i < m.n; i += CHUNK) {
    const end = Math.min(m.n, i + CHUNK);
    const records = [];
    for (let r = i; r < end; r++) records.push({ values: m.rows.subarray(r * m.dim, (r + 1) * m.dim) });
    let results;
    try {
      results = model.predict(records, { verbose, source });
    } catch (err) {
      // predict names the record within the chunk; name the line of the file (header lines are not counted).
      if (err instanceof ParseError && err.line !== undefined) throw new ParseError(err.message.replace(/^.*?:\d+: /, ''), { file: source, line: i + err.line });
      throw err;
    }
    const body = wire.formatPredictions(results, json ? 'application/jsonlines' : o.accept, verbose);
    if (json) out.write((i > 0 ? ',' : '') + body.slice(0, -1).split('\n').join(','));
    else out.write(body);
  }
  if (json) out.write(']}');
}
