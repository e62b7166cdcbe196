/**
 * Runs the named benchmarks, or all of them when no name is given:
 * `npm run bench` or `npm run bench -- assign-idle`.
 */
import { runAssignIdleBenchmark } from './assign-idle.ts';
import { runEvaluateBenchmark } from './evaluate.ts';

interface Benchmark {
  description: string;
  run: () => Promise<void>;
}

const BENCHMARKS: Record<string, Benchmark> = {
  'assign-idle': {
    description: 'latency of warm Assign+Idle pairs over loopback gRPC',
    run: runAssignIdleBenchmark,
  },
  evaluate: {
    description: 'virtual-time evaluation of whole trace days: wall time, requests/s, peak memory',
    run: runEvaluateBenchmark,
  },
};

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')}; expected one of ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exitCode = 2;
} else {
  for (const name of requested.length > 0 ? requested : Object.keys(BENCHMARKS)) {
    const benchmark = BENCHMARKS[name]!;
    console.log(`\n== ${name}: ${benchmark.description}`);
    await benchmark.run();
  }
}
