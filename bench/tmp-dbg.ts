import { evaluate } from '../src/eval/evaluate.ts';
import { openSource } from '../src/eval/sources.ts';
const source = await openSource(process.argv[3]!);
const e = await evaluate({ source, policy: process.argv[2]! });
const o = e.summary.overall;
console.log(e.policy, 'score', o.score.toFixed(2), 'res', o.resourceUsageScore.toFixed(2), 'cold', o.coldStartTimeScore.toFixed(2));
for (const a of e.summary.apps) console.log(a.appKey.slice(0,8), 'req', a.requests, 'cold', a.coldStarts, 'slots', a.slots, 'execGBs', a.invocationExecutionTimeInGBs.toFixed(0), 'slotGBs', a.totalSlotTimeInGBs.toFixed(0), 'sched s', a.invocationScheduleTimeInSecs.toFixed(1), 'exec s', a.invocationExecutionTimeInSecs.toFixed(0));
for (const d of e.decisions) console.log(d.appKey.slice(0,8), d.explanation);
