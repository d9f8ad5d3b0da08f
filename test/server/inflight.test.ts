import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InflightList } from '../../src/server/inflight.js';

describe('requests in flight', () => {
  test('entries leave in any order; the list counts what is left', () => {
    const list = new InflightList<string>();
    const a = list.add('a', 0);
    const b = list.add('b', 1);
    const c = list.add('c', 2);
    const d = list.add('d', 3);
    assert.equal(list.size, 4);
    list.remove(b); // middle
    list.remove(a); // head
    list.remove(d); // tail
    assert.equal(list.size, 1);
    assert.deepEqual(
      list.takeOlderThan(0, 10).map((e) => e.item),
      ['c'],
    );
    assert.equal(list.size, 0);
    list.remove(c); // already taken: nothing
    list.remove(b); // removed twice: nothing
    assert.equal(list.size, 0);
    const e = list.add('e', 20);
    assert.deepEqual(
      list.takeOlderThan(0, 20).map((x) => x.item),
      ['e'],
    );
    assert.equal(e.listed, false);
  });

  test('only the entries at least the limit old are taken, oldest first, with when they came', () => {
    const list = new InflightList<number>();
    for (let t = 0; t < 10; t++) list.add(t, t * 100);
    const old = list.takeOlderThan(500, 950);
    assert.deepEqual(
      old.map((e) => [e.item, e.since]),
      [
        [0, 0],
        [1, 100],
        [2, 200],
        [3, 300],
        [4, 400],
      ],
    );
    assert.equal(list.size, 5);
    // What is left still leaves by remove(), and a sweep later takes the rest in order.
    assert.deepEqual(
      list.takeOlderThan(500, 2000).map((e) => e.item),
      [5, 6, 7, 8, 9],
    );
    assert.deepEqual(list.takeOlderThan(0, 5000), []);
  });

  test('a removed entry keeps no link to the others', () => {
    const list = new InflightList<object>();
    const first = list.add({}, 0);
    const middle = list.add({}, 1);
    list.add({}, 2);
    list.remove(middle);
    assert.equal(middle.prev, undefined);
    assert.equal(middle.next, undefined);
    assert.notEqual(first.next, middle);
  });
});
