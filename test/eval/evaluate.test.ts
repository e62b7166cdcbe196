import { expect } from 'chai';
import { evaluate, type Evaluation } from '../../src/eval/evaluate.ts';
import { tinyRequests, tinySource } from './tiny-dataset.ts';
import { openSource } from '../../src/eval/sources.ts';

/** Everything in an evaluation except the wall-clock figures. */
function numbersOf(evaluation: Evaluation) {
  const { wallMs: _wallMs, requestsPerSecond: _requestsPerSecond, ...rest } = evaluation;
  return rest;
}

describe('evaluate', () => {
  for (const policy of ['reference', 'adaptive', 'hybrid-histogram']) {
    it(`is deterministic with ${policy}`, async () => {
      const first = await evaluate({ source: tinySource(), policy, sampleEveryMs: 10_000 });
      const second = await evaluate({ source: tinySource(), policy, sampleEveryMs: 10_000 });

      expect(first.replay.arrived).to.equal(tinyRequests().length);
      expect(first.summary.overall.served).to.equal(tinyRequests().length);
      expect(first.timeline.length).to.be.greaterThan(1);
      expect(numbersOf(second)).to.deep.equal(numbersOf(first));
    });
  }

  it('scores policies differently on the same source', async () => {
    // A guard that the determinism check above compares real runs, not a constant.
    const shortKeepAlive = await evaluate({ source: tinySource(), policy: 'fixed-keepalive:1s' });
    const longKeepAlive = await evaluate({ source: tinySource(), policy: 'fixed-keepalive:10m' });

    expect(shortKeepAlive.summary.overall.coldStarts).to.be.greaterThan(longKeepAlive.summary.overall.coldStarts);
    expect(shortKeepAlive.summary.overall.wastedGBs).to.be.lessThan(longKeepAlive.summary.overall.wastedGBs);
  });
});

describe('openSource', () => {
  it('rejects a size with no embedded sample', async () => {
    let message = '';
    try {
      await openSource('azure:7');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).to.include('no embedded sample has 7 functions');
    expect(message).to.include('use 10, 100, 200');
  });

  it('rejects an unknown shape', async () => {
    let message = '';
    try {
      await openSource('azure:10:lambda');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).to.include('shape must be azure or contest, got "lambda"');
  });
});
