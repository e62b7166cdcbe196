import { evaluate } from '/work/main/src/eval/evaluate.ts';
import { openSource } from '/work/main/src/eval/sources.ts';
for (const spec of process.argv.slice(3)) {
  const source = await openSource(spec);
  const e = await evaluate({ source, policy: process.argv[2]! });
  const o = e.summary.overall;
  console.log(spec, e.policy, 'score', o.score.toFixed(2), 'res', o.resourceUsageScore.toFixed(2), 'cold', o.coldStartTimeScore.toFixed(2), 'coldStarts', o.coldStarts, 'req', o.requests, 'failed', o.failed, 'viol', e.replay.violations, 'peak', o.peakSlots, 'wall', e.wallMs.toFixed(0), 'rps', e.requestsPerSecond.toFixed(0), 'mem', (process.memoryUsage().rss/1e6).toFixed(0));
}
