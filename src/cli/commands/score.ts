import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ParseError, errorMessage } from '../../core/errors.js';
import { loadModel, pairsModel } from '../../detectors/index.js';
import { parseCsvPairs } from '../../detectors/pairs/csv.js';
import type { ResponseType } from '../../detectors/ipinsights/wire.js';

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
      "Score entity,ip pairs with a model of any detector; prints the endpoint's response body (IP Insights: SageMaker's, " +
        'dot_product: larger = more normal; history: prefix_score: larger = more familiar).',
    )
    .requiredOption('--model <path>', 'model file (from seclake train)')
    .requiredOption('--input <file>', "headerless CSV entity,ip per line ('-' = stdin, gzip allowed)")
    .addOption(new Option('--accept <type>', 'response format').choices(['application/json', 'application/jsonlines']).default('application/json'))
    .option('--verbose', "the detector's verbose fields (IP Insights: entity_embedding and ip_embedding, as SageMaker's verbose=True); unknown entities get \"entity_known\": false")
    .addHelpText(
      'after',
      `
Output is byte-for-byte what the model's endpoint returns (\`seclake serve\`; for IP Insights, a SageMaker endpoint):
  application/json       {"predictions": [{"dot_product": 1.23}, ...]}
  application/jsonlines  {"dot_product": 1.23} per line
A history model answers {"prefix_score": ...} the same way.
A malformed input line (wrong column count, empty entity, invalid IP) is an error naming the line.
Entities never seen in training are scored against the population of trained entities; a count of them
is printed on stderr.

Examples:
  seclake score --model ipi.model --input pairs.csv
  seclake score --model ipi.model --input pairs.csv --accept application/jsonlines --verbose`,
    )
    .action(async (o: ScoreCliOptions) => {
      const model = pairsModel(await loadModel(o.model), '`seclake score` of a pairs CSV');
      const wire = model.detector.wire;
      const source = o.input === '-' ? '(stdin)' : o.input;
      const pairs = parseCsvPairs(readInput(o.input), source);
      const verbose = o.verbose === true;
      const out = process.stdout;
      let unknown = 0;
      const json = o.accept === 'application/json';
      if (json) out.write('{"predictions": [');
      for (let i = 0; i < pairs.length; i += CHUNK) {
        const results = model.predict(pairs.slice(i, i + CHUNK), { verbose, source });
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
