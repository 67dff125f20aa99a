/**
 * Calibrate a model of the IP Insights login tutorial and write the report and plots (the tutorial's §5.3 picture).
 * Not a test (slow: it trains a model); run it by hand:
 *
 *   node --import tsx test/calibrate/login-report.ts [--users 10000] [--seed 1] [--threads 1] [--out docs/img]
 *
 * 1. Generate the tutorial's logins with the benchmark's generator (bench/lib/logingen.ts) and train with the
 *    tutorial's hyperparameters, as `npm run bench:ipinsights` does.
 * 2. Write every test-period login (last 3 days) as the held-out normal CSV. `seclake calibrate` itself drops the
 *    users the model never saw and samples 100,000 pairs without replacement (tutorial §5.3 step 1).
 * 3. Calibrate with abnormal pairs from draw_ip() (--abnormal-gen asn) at FPR 1%, writing
 *    <out>/calibration-login.png (+ -roc, -pr) and the HTML report under .bench-tmp/calibrate/.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPairsCsv } from '../../src/detectors/pairs/data.js';
import { trainIpInsights } from '../../src/detectors/ipinsights/train.js';
import { modelAccess } from '../../src/calibrate/model.js';
import { runCalibration } from '../../src/calibrate/run.js';
import { dotted, generateLogins, loadAsnTable } from '../../bench/lib/logingen.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}

async function writeCsv(file: string, users: Uint32Array, ips: Uint32Array): Promise<void> {
  const out = createWriteStream(file);
  let chunk = '';
  for (let i = 0; i < users.length; i++) {
    chunk += `user_${users[i]},${dotted(ips[i]!)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

async function main(): Promise<void> {
  const users = Number(arg('users', '10000'));
  const seed = Number(arg('seed', '1'));
  const threads = arg('threads', '1');
  const outDir = path.resolve(ROOT, arg('out', 'docs/img'));
  const work = path.join(ROOT, '.bench-tmp', 'calibrate');
  mkdirSync(work, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  const say = (s: string): void => void process.stderr.write(s + '\n');

  const table = await loadAsnTable();
  const data = generateLogins(table, users, seed);
  say(`logins: ${data.totalEvents} (train ${data.trainUser.length}, test ${data.testUser.length}) for ${users} users`);
  const trainCsv = path.join(work, 'train.csv');
  const normalCsv = path.join(work, 'heldout.csv');
  await writeCsv(trainCsv, data.trainUser, data.trainIp);
  await writeCsv(normalCsv, data.testUser, data.testIp);

  const model = path.join(work, 'login.model');
  const t0 = Date.now();
  await trainIpInsights({
    train: await loadPairsCsv([trainCsv]),
    hyperparameters: {
      num_entity_vectors: '20000',
      random_negative_sampling_rate: '5',
      vector_dim: '128',
      mini_batch_size: '1000',
      epochs: '5',
      learning_rate: '0.01',
      seed: String(seed),
      threads,
    },
    modelPath: model,
    source: 'login tutorial generator',
    log: (line) => {
      if (line.startsWith('#quality_metric') && !line.includes('batch=')) say('  ' + line);
    },
  });
  say(`trained in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  const cwd = process.cwd();
  process.chdir(work); // so the report names the model and inputs by base name
  try {
    const res = await runCalibration(
      {
        model: 'login.model',
        normal: { kind: 'csv', file: 'heldout.csv' },
        abnormal: { kind: 'generate', generator: 'asn' },
        rule: { kind: 'max_fpr', max_fpr: 0.01 },
        seed,
        report: 'calibration-login.html',
        plots: [path.join(outDir, 'calibration-login.png')],
        progress: true,
      },
      modelAccess,
    );
    const j = res.json;
    const t = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(4));
    process.stdout.write(
      [
        `normal: ${j.normal.pairs} read, ${j.normal.unknownEntityPairs} of unseen users set aside, ${j.normal.used} used`,
        `AUC ${j.auc.toFixed(4)}, average precision ${j.average_precision.toFixed(4)}`,
        `threshold at FPR 1%: dot_product < ${j.threshold.toFixed(4)}; FPR ${t(j.fpr)}, recall ${t(j.recall)}, precision ${t(j.precision)}`,
        ...j.thresholds_at_fpr.map((x) => `  FPR ${x.target_fpr}: threshold ${x.threshold.toFixed(4)}, recall ${x.recall.toFixed(4)}, precision ${t(x.precision)}`),
        ...j.mixes.map((m) => `  ${m.ratio}:1 precision ${m.precision.toFixed(4)}`),
        `wrote ${res.written.join(', ')}`,
      ].join('\n') + '\n',
    );
  } finally {
    process.chdir(cwd);
  }
}

await main();
