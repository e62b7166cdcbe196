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
 * minutes), the evaluator on a virtual clock. What may differ is what real
 * time adds: gRPC round trips in the Assign and Idle times, and timer drift.
 */
describe('evaluator against the simulator', function () {
  this.timeout(10 * 60_000);

  const POLICY = 'fixed-keepalive:10m';
  const TOLERANCE = 1;

  it('agrees within one point, per app too', async () => {
    const simulated = await runSimulation(
      { dataset: 'default', speed: 1, platformPort: 0, policy: POLICY, progress: false },
      { logger: silentLogger },
    );
    const evaluated = await evaluate({ source: await openSource('default'), policy: POLICY });

    expect(simulated.partial, 'simulation ran to the end').to.equal(false);
    expect(simulated.replay.violations.total, 'simulator violations').to.equal(0);
    expect(evaluated.replay.violations, 'evaluator violations').to.equal(0);
    expect(evaluated.summary.overall.requests).to.equal(simulated.score.overall.requests);

    const overallGap = Math.abs(evaluated.summary.overall.score - simulated.score.overall.score);
    expect(overallGap, `overall: evaluator ${evaluated.summary.overall.score}, simulator ${simulated.score.overall.score}`).to.be.at.most(TOLERANCE);

    const simulatedApps = new Map<string, AppScore>(simulated.score.apps.map((app) => [app.appKey, app]));
    for (const app of evaluated.summary.apps) {
      const other = simulatedApps.get(app.appKey);
      expect(other, `app ${app.appKey} in the simulator's result`).to.not.equal(undefined);
      const gap = Math.abs(app.score - other!.score);
      expect(gap, `app ${app.appKey}: evaluator ${app.score}, simulator ${other!.score}`).to.be.at.most(TOLERANCE);
    }
  });
});
