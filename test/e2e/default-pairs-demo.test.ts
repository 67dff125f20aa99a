/**
 * The lake pipeline with its defaults on raw VPC flow logs v5 (flow-direction), Route 53 and CloudTrail from the demo
 * generator: `seclake ingest` -> `seclake train --lake` -> `seclake monitor --once --from-start`, no pair options.
 * The default record definition (`default`: flow-peer + user-login) must find the labelled attack pairs with few
 * findings on normal pairs. The same pipeline with `--pairs reference` (the AWS reference solution's query) pairs
 * every instance with its own address: train warns, and the same assertions fail (no attack pair is ever scored),
 * which shows they can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDemoNetworks } from '../../src/demo/asn-pools.js';
import { ADDRESS_ATTACK_KINDS } from '../../src/demo/attacks.js';
import { generateDemo } from '../../src/demo/generate.js';
import { evaluateFindings, type AttackLabel } from '../../src/demo/labels.js';
import { demoFindingOf } from '../../src/demo/monitor.js';
import type { DetectionFinding } from '../../src/findings/types.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const END = Date.parse('2026-05-06T18:00:00Z');

function cli(args: string[]): { stdout: string; stderr: string } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', cwd: ROOT, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `seclake ${args.slice(0, 3).join(' ')} ...: exit ${r.status}\n${r.stderr}`);
  if (process.env.SECLAKE_TEST_TIMES) process.stderr.write(`${args[0]} ${Date.now() - t0} ms\n`);
  return { stdout: r.stdout, stderr: r.stderr };
}

const key = (entity: string, ip: string): string => `${entity} ${ip}`;

export interface PairScore {
  findings: number;
  attack_recall: number;
  /** Distinct labelled attack (entity, ip) pairs with a finding / all of them. */
  pair_recall: number;
  attack_pairs: number;
  /** Distinct flagged pairs that are not attack pairs, and their share of the distinct normal pairs in the lake. */
  false_pairs: number;
  false_share: number;
  normal_pairs: number;
}

/** Findings (file sink) against the labels: attack recall, attack pair recall, false pairs per normal pair. */
export function scoreFindings(findingsFile: string, labels: readonly AttackLabel[], lakePairs: ReadonlySet<string>): PairScore {
  const findings = existsSync(findingsFile)
    ? readFileSync(findingsFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => demoFindingOf(JSON.parse(l) as DetectionFinding))
    : [];
  const ev = evaluateFindings(labels, findings);
  const attackPairs = new Set<string>();
  for (const l of labels) for (const r of l.records) if (r.entity !== undefined && r.ip !== undefined) attackPairs.add(key(r.entity, r.ip));
  const flagged = new Set(findings.map((f) => key(f.entity, f.ip)));
  const hit = [...attackPairs].filter((p) => flagged.has(p)).length;
  const falsePairs = [...flagged].filter((p) => !attackPairs.has(p)).length;
  const normal = [...lakePairs].filter((p) => !attackPairs.has(p)).length;
  return {
    findings: findings.length,
    attack_recall: ev.attack_recall ?? 0,
    pair_recall: attackPairs.size ? hit / attackPairs.size : 0,
    attack_pairs: attackPairs.size,
    false_pairs: falsePairs,
    false_share: normal ? falsePairs / normal : 1,
    normal_pairs: normal,
  };
}

/** Distinct (entity, ip) pairs of a headerless entity,ip CSV (`seclake pairs`). */
function distinctPairs(csv: string): Set<string> {
  return new Set(
    readFileSync(csv, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const i = l.lastIndexOf(',');
        return key(l.slice(0, i), l.slice(i + 1));
      }),
  );
}

test('raw v5 flow logs -> ingest -> train --lake -> monitor, no pair options: findings on the attack pairs, few on normal ones', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-default-pairs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The attacks an entity-IP model can see (the behaviour attacks keep to the entities' usual addresses).
  const gen = await generateDemo({ out: path.join(dir, 'gen'), days: 3, seed: 5, end: END, volume: { scale: 0.25 }, attacks: ADDRESS_ATTACK_KINDS, networks: await loadDemoNetworks() });
  const files = (attack: boolean): string[] => gen.objects.filter((o) => (o.end >= gen.attackStart) === attack).map((o) => path.join(gen.logsDir, o.key));
  const lake = path.join(dir, 'lake');
  const refModel = path.join(dir, 'reference.model');

  // History (clean): ingest and train with the defaults.
  cli(['ingest', '--lake', lake, '--json', ...files(false)]);
  // No --model: written into the lake and registered there, so the monitor below needs no options at all.
  const trained = JSON.parse(cli(['train', '--lake', lake, '--threads', '1', '--seed', '1', '--json', '--no-progress']).stdout) as {
    registered: { name: string };
    rows: number;
    distinct_entities: number;
    warnings: string[];
    record_definition: { name: string; sql: string };
  };
  assert.deepEqual(trained.warnings, []);
  assert.equal(trained.record_definition.name, 'default');
  assert.match(trained.record_definition.sql, /FROM vpc_flow[\s\S]*UNION ALL[\s\S]*FROM cloudtrail_auth/);
  // Instances (flow-peer) and users (user-login) in one model.
  assert.ok(trained.distinct_entities >= 15, `entities ${trained.distinct_entities}`);

  // The reference query on the same lake: degenerate, and train says which definition to use.
  assert.equal(trained.registered.name, 'ipinsights-default');
  // (Not registered: the monitor with no options runs the lake's registered models only.)
  const ref = cli(['train', '--lake', lake, '--model', refModel, '--no-register', '--pairs', 'reference', '--threads', '1', '--seed', '1', '--json', '--no-progress']);
  const refSummary = JSON.parse(ref.stdout) as { warnings: string[]; record_definition: { name: string } };
  assert.equal(refSummary.record_definition.name, 'reference');
  assert.equal(refSummary.warnings.length, 1);
  assert.match(refSummary.warnings[0]!, /degenerate[\s\S]*--pairs default/);
  assert.match(ref.stderr, /warning: the training set looks degenerate/);

  // The attack day arrives; the monitor scores the whole lake with each model's own definition.
  cli(['ingest', '--lake', lake, '--json', ...files(true)]);
  const pairsCsv = path.join(dir, 'pairs.csv');
  cli(['pairs', '--lake', lake, '--out', pairsCsv]);
  const lakePairs = distinctPairs(pairsCsv);
  const labels = gen.labels;
  const run = (m: string | undefined, name: string): PairScore => {
    const out = path.join(dir, `${name}.findings.jsonl`);
    const model = m ? ['--model', m] : [];
    const sum = JSON.parse(cli(['monitor', '--lake', lake, ...model, '--name', name, '--once', '--from-start', '--json', '--quiet', '--sink', `file:${out}`, '--sink-detections', '--no-sink-incidents']).stdout) as { failed: number };
    assert.equal(sum.failed, 0);
    return scoreFindings(out, labels, lakePairs);
  };
  const def = run(undefined, 'default'); // no model or pair options: the lake's registered model
  const reference = run(refModel, 'reference');
  t.diagnostic(`default:   ${JSON.stringify(def)}`);
  t.diagnostic(`reference: ${JSON.stringify(reference)}`);

  // What the labels make possible: 5 attacks, ~20 distinct attack pairs; ~6,000 distinct normal pairs in 3 days.
  const passes = (s: PairScore): boolean => s.attack_recall >= 0.8 && s.pair_recall >= 0.5 && s.false_share <= 0.1;
  assert.ok(def.attack_pairs >= 10 && def.normal_pairs >= 1000, JSON.stringify(def));
  assert.ok(def.attack_recall >= 0.8, `attack recall ${def.attack_recall}`);
  assert.ok(def.pair_recall >= 0.5, `attack pair recall ${def.pair_recall}`);
  assert.ok(def.false_share <= 0.1, `false pairs ${def.false_pairs} of ${def.normal_pairs} normal pairs`);
  assert.ok(passes(def));
  // The reference query never scores an attack pair: the same bar fails.
  assert.equal(reference.pair_recall, 0);
  assert.equal(passes(reference), false);
});
