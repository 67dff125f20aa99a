import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { modelNameOf, registerModel, registeredModels } from './models.js';

test('models registered for a lake: lake-relative inside it, absolute outside, re-registration replaces, concurrent ones all kept, missing files said', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seclake-models-'));
  try {
    const lake = path.join(dir, 'lake');
    mkdirSync(path.join(lake, '_seclake', 'models'), { recursive: true });
    assert.deepEqual(registeredModels(lake), []);
    const inside = path.join(lake, '_seclake', 'models', 'flows.model');
    const outside = path.join(dir, 'users.model');
    writeFileSync(inside, 'x');
    writeFileSync(outside, 'y');
    await registerModel(lake, modelNameOf(inside), inside, 'ipinsights');
    await registerModel(lake, 'users', outside, 'history');
    const stored = JSON.parse(readFileSync(path.join(lake, '_seclake', 'models.json'), 'utf8')) as { models: { path: string }[] };
    assert.deepEqual(stored.models.map((m) => m.path), ['_seclake/models/flows.model', outside]);
    await registerModel(lake, 'flows', inside, 'history');
    assert.deepEqual(registeredModels(lake).map((m) => [m.name, m.detector, m.path]), [['users', 'history', outside], ['flows', 'history', inside]]);
    await Promise.all(['a', 'b', 'c', 'd'].map((n) => registerModel(lake, n, outside, 'ipinsights')));
    assert.deepEqual(registeredModels(lake).map((m) => m.name).sort(), ['a', 'b', 'c', 'd', 'flows', 'users']);
    rmSync(outside);
    assert.equal(registeredModels(lake).find((m) => m.name === 'users')?.missing, true);
    await assert.rejects(registerModel(lake, '../evil', inside, 'ipinsights'), /model name/);
    writeFileSync(path.join(lake, '_seclake', 'models.json'), '{"models": 3}');
    assert.throws(() => registeredModels(lake), /models\.json: not a model list/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
