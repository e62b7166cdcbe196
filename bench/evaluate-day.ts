/**
 * One day of the evaluator benchmark, run in its own process so that its peak
 * RSS is its own. `node --import tsx bench/evaluate-day.ts SIZE [POLICY]`
 * prints one JSON line of figures on stdout.
 */
import { evaluate } from '../src/eval/evaluate.ts';
import { tuneGarbageCollectionForReplay } from '../src/eval/gc.ts';
import { openSource } from '../src/eval/sources.ts';

export interface DayFigures {
  source: string;
  policy: string;
  requests: number;
  score: number;
  /** Wall time of opening the source, ms. */
  openMs: number;
  /** Wall time of the evaluation, ms. */
  evaluateMs: number;
  requestsPerSecond: number;
  /** Largest RSS seen by sampling every 100 ms, bytes. */
  sampledPeakRss: number;
  /** The process's maximum resident set size from the OS, bytes. */
  maxRss: number;
}

const RSS_SAMPLE_MS = 100;

async function main(): Promise<void> {
  // The same setting as the evaluate and compare commands.
  tuneGarbageCollectionForReplay();
  const size = Number(process.argv[2]);
  const policy = process.argv[3] ?? 'reference';
  let sampledPeakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    sampledPeakRss = Math.max(sampledPeakRss, process.memoryUsage.rss());
  }, RSS_SAMPLE_MS);

  const openStart = performance.now();
  const source = await openSource(`azure:${size}:azure`);
  const openMs = performance.now() - openStart;
  const evaluation = await evaluate({ source, policy });
  clearInterval(sampler);
  sampledPeakRss = Math.max(sampledPeakRss, process.memoryUsage.rss());

  const figures: DayFigures = {
    source: evaluation.source,
    policy: evaluation.policy,
    requests: evaluation.replay.arrived,
    score: evaluation.summary.overall.score,
    openMs,
    evaluateMs: evaluation.wallMs,
    requestsPerSecond: evaluation.requestsPerSecond,
    sampledPeakRss,
    // maxRSS is in kilobytes.
    maxRss: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

await main();
