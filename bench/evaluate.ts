/**
 * Evaluator throughput: the `reference` policy over the whole day of the
 * embedded 10-, 100- and 200-function Azure samples (azure shape), each day
 * in a fresh process so its peak memory is its own. Prints per day the
 * requests, wall seconds, requests per second and peak RSS, then checks that
 * wall time grows linearly with requests.
 *
 * Target: the 200-function day in under 60 s with peak RSS under 1 GB.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DayFigures } from './evaluate-day.ts';

const SIZES = [10, 100, 200] as const;
const POLICY = 'reference';
const TARGET_SIZE = 200;
const TARGET_SECONDS = 60;
const TARGET_RSS_BYTES = 1024 ** 3;
/** Per-request wall time may vary this much across days and still count as linear. */
const LINEAR_TOLERANCE = 0.5;

const run = promisify(execFile);
const DAY_SCRIPT = fileURLToPath(new URL('./evaluate-day.ts', import.meta.url));

async function runDay(size: number): Promise<DayFigures> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', DAY_SCRIPT, String(size), POLICY], {
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as DayFigures;
}

function megabytes(bytes: number): string {
  return `${Math.round(bytes / 1024 ** 2)} MB`;
}

export async function runEvaluateBenchmark(): Promise<void> {
  console.log(`policy ${POLICY}, whole day of each embedded sample, azure shape; each day in a fresh Node.js ${process.version} process`);
  console.log('day                  requests   open s   wall s   requests/s   µs/request   peak RSS (sampled / max)');
  const days: DayFigures[] = [];
  for (const size of SIZES) {
    const day = await runDay(size);
    days.push(day);
    const usPerRequest = (day.evaluateMs * 1000) / day.requests;
    console.log(
      `${day.source.padEnd(18)} ${day.requests.toLocaleString('en-US').padStart(10)} ${(day.openMs / 1000).toFixed(2).padStart(8)} ` +
        `${(day.evaluateMs / 1000).toFixed(1).padStart(8)} ${Math.round(day.requestsPerSecond).toLocaleString('en-US').padStart(12)} ` +
        `${usPerRequest.toFixed(1).padStart(12)}   ${megabytes(day.sampledPeakRss)} / ${megabytes(day.maxRss)}`,
    );
  }

  // Linear: the same wall time per request on every day, within the tolerance of the smallest.
  const perRequest = days.map((day) => day.evaluateMs / day.requests);
  const lowest = Math.min(...perRequest);
  const spread = Math.max(...perRequest) / lowest - 1;
  console.log(
    `linearity: wall time per request varies by ${(spread * 100).toFixed(0)} % across the days ` +
      `(${spread <= LINEAR_TOLERANCE ? 'linear' : 'NOT linear'} within ${LINEAR_TOLERANCE * 100} %)`,
  );

  const target = days.find((day) => day.source.startsWith(`azure-${TARGET_SIZE}-`));
  if (target) {
    const seconds = target.evaluateMs / 1000;
    const peak = Math.max(target.sampledPeakRss, target.maxRss);
    const met = seconds < TARGET_SECONDS && peak < TARGET_RSS_BYTES;
    console.log(
      `target (${TARGET_SIZE}-function day under ${TARGET_SECONDS} s and ${megabytes(TARGET_RSS_BYTES)}): ${met ? 'met' : 'NOT met'} ` +
        `(${seconds.toFixed(1)} s, ${megabytes(peak)})`,
    );
  }
}
