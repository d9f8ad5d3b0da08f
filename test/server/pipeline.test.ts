import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pipeline, type Stage } from '../../src/server/pipeline.js';
import type { RouteContext } from '../../src/server/route-context.js';

/** A context with only what the pipeline reads: whether it was answered, and the stage running. */
function fakeContext(): RouteContext & { trail: string[] } {
  return { answered: false, stage: '', trail: [] } as unknown as RouteContext & { trail: string[] };
}

const mark =
  (name: string, stop = false): Stage =>
  (ctx, next) => {
    (ctx as unknown as { trail: string[] }).trail.push(name);
    return stop ? undefined : next();
  };

test('stages run in order; before, after, replace, wrap and remove rearrange them by name', async () => {
  const p = new Pipeline([
    { name: 'a', run: mark('a') },
    { name: 'b', run: mark('b') },
  ]);
  p.use('c', mark('c'));
  p.before('b', 'a2', mark('a2'));
  p.after('b', 'b2', mark('b2'));
  p.replace('c', mark('c*'));
  p.wrap('a', (original) => (ctx, next) => {
    (ctx as unknown as { trail: string[] }).trail.push('around-a');
    return original(ctx, next);
  });
  p.remove('b2');
  assert.deepEqual(p.names(), ['a', 'a2', 'b', 'c'], 'names in order');
  const ctx = fakeContext();
  await p.run(ctx);
  assert.deepEqual(ctx.trail, ['around-a', 'a', 'a2', 'b', 'c*'], 'what ran');
});

test('a stage that does not call next ends the run; a throwing stage rejects the run', async () => {
  const p = new Pipeline([
    { name: 'one', run: mark('one', true) },
    { name: 'two', run: mark('two') },
  ]);
  const ctx = fakeContext();
  await p.run(ctx);
  assert.deepEqual(ctx.trail, ['one'], 'stopped after one');
  const bad = new Pipeline([
    {
      name: 'boom',
      run: () => {
        throw new Error('bug');
      },
    },
  ]);
  await assert.rejects(bad.run(fakeContext()), /bug/, 'the error reaches the caller (who answers 500)');
});

test('names must exist to be used, and must be new to be added', () => {
  const p = new Pipeline([{ name: 'x', run: mark('x') }]);
  assert.throws(
    () => p.before('nope', 'y', mark('y')),
    /no stage named 'nope' \(stages: x\)/,
    'unknown name',
  );
  assert.throws(() => p.use('x', mark('x')), /already exists/, 'duplicate name');
});
