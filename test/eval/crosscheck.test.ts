import { expect } from 'chai';
import { evaluate } from '../../src/eval/evaluate.ts';
import { openSource } from '../../src/eval/sources.ts';
import { silentLogger } from '../../src/log.ts';
import { runSimulation } from '../../src/sim/simulate.ts';
import type { AppScore } from '../../src/sim/score.ts';

/*
 * The virtual-time evaluator is only useful if it scores what the real-time
 * simulator scores. This test replays the embedded dataset both ways with the
 * same policy: the simulator at real speed over gRPC on loopback (about two
 * minutes), the evaluator on a virtual clock. Real time adds the wire: each
 * Assign and Idle call takes a few ms, more on a loaded machine. The
 * evaluator is given the Idle call time this simulator run measured, because
 * an Idle call is wire time only.
 */
describe('evaluator against the simulator', function () {
  this.timeout(10 * 60_000);

  const POLICY = 'fixed-keepalive:10m';
  const TOLERANCE = 1;
  /*
   * Apps whose mean execution is shorter than this are left out of the
   * per-app check. For them a millisecond of jitter per call moves the
   * cold-start score by more than the tolerance: an app of 8 ms executions
   * loses about 5 points for each ms its 2 calls per request take.
   */
  const MIN_MEAN_EXECUTION_MS = 100;

  it('agrees within one point, per app too', async () => {
    const simulated = await runSimulation(
      { dataset: 'default', speed: 1, platformPort: 0, policy: POLICY, progress: false },
      { logger: silentLogger },
    );
    const served = simulated.score.overall.served;
    const callLatencyMs = (simulated.score.overall.invocationIdleTimeInSecs * 1000) / served;
    const evaluated = await evaluate({ source: await openSource('default'), policy: POLICY, callLatencyMs });

    expect(simulated.partial, 'simulation ran to the end').to.equal(false);
    expect(simulated.replay.violations.total, 'simulator violations').to.equal(0);
    expect(evaluated.replay.violations, 'evaluator violations').to.equal(0);
    expect(evaluated.summary.overall.requests).to.equal(simulated.score.overall.requests);

    const overallGap = Math.abs(evaluated.summary.overall.score - simulated.score.overall.score);
    expect(overallGap, `overall: evaluator ${evaluated.summary.overall.score}, simulator ${simulated.score.overall.score}`).to.be.at.most(TOLERANCE);

    const simulatedApps = new Map<string, AppScore>(simulated.score.apps.map((app) => [app.appKey, app]));
    let compared = 0;
    for (const app of evaluated.summary.apps) {
      const other = simulatedApps.get(app.appKey);
      expect(other, `app ${app.appKey} in the simulator's result`).to.not.equal(undefined);
      const meanExecutionMs = (app.invocationExecutionTimeInSecs * 1000) / Math.max(1, app.served);
      if (meanExecutionMs < MIN_MEAN_EXECUTION_MS) continue;
      compared++;
      const gap = Math.abs(app.score - other!.score);
      expect(gap, `app ${app.appKey}: evaluator ${app.score}, simulator ${other!.score}`).to.be.at.most(TOLERANCE);
    }
    // The default dataset has 15 apps, 3 of them with executions of a few ms.
    expect(compared, 'apps compared').to.be.at.least(10);
  });
});
