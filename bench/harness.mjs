// Interleaved timing: every candidate runs in turn for a short slice of time,
// many times over, and the fastest slice of each is kept. Interleaving makes
// the comparison fair on a shared, noisy machine: a slow moment hits every
// candidate alike, and the best slice approaches the true cost.

export function measure(candidates, { rounds = 25, sliceMs = 25, inputs }) {
  const best = new Map();
  const heap = new Map();
  let sink = 0;
  for (const c of candidates) {
    // Warm up so the JIT has settled.
    for (let i = 0; i < 2000; i++) sink += c.fn(c.inputs[i % c.inputs.length]) | 0;
    best.set(c.name, Infinity);
  }
  for (let r = 0; r < rounds; r++) {
    for (const c of candidates) {
      const ins = c.inputs;
      let n = 0;
      const t0 = process.hrtime.bigint();
      const stopAt = t0 + BigInt(sliceMs * 1e6);
      let now = t0;
      while (now < stopAt) {
        for (let k = 0; k < 100; k++) sink += c.fn(ins[(n + k) % ins.length]) | 0;
        n += 100;
        now = process.hrtime.bigint();
      }
      const ns = Number(now - t0) / n;
      if (ns < best.get(c.name)) best.set(c.name, ns);
    }
  }
  if (sink === 0.5) console.log('');
  void inputs;
  void heap;
  return best;
}

/** Bytes of heap retained per object made by `make`, measured over `count` live objects. */
export function heapPerObject(make, inputs, count = 20000) {
  if (typeof globalThis.gc !== 'function') return Number.NaN;
  const keep = new Array(count);
  globalThis.gc();
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) keep[i] = make(inputs[i % inputs.length]);
  globalThis.gc();
  globalThis.gc();
  const after = process.memoryUsage().heapUsed;
  const per = (after - before) / count;
  if (keep.length !== count) console.log('');
  return per;
}
