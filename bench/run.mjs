// npm run bench: every benchmark of the project, printed with ratios to the
// peers measured in the same run.
import { cpus } from 'node:os';
import { runMessageBench } from './message.mjs';
import { runTransactionBench } from './transactions.mjs';

console.log(`sipwire benchmarks — Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`);
runMessageBench({
  rounds: Number(process.env.BENCH_ROUNDS ?? 20),
  processes: Number(process.env.BENCH_PROCESSES ?? 5),
  maxProcesses: Number(process.env.BENCH_MAX_PROCESSES ?? 15),
});
await runTransactionBench({
  rounds: Number(process.env.BENCH_TX_ROUNDS ?? 3),
  count: Number(process.env.BENCH_TX_COUNT ?? 20_000),
});
if (process.env.BENCH_SKIP_REGISTRATIONS !== '1') {
  const { runRegistrationBench } = await import('./registrations.mjs');
  await runRegistrationBench();
}
if (process.env.BENCH_SKIP_CALLS !== '1') {
  const { runCallBench } = await import('./calls.mjs');
  await runCallBench();
}
