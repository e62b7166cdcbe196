import { expect } from 'chai';
import { evaluate, MAX_TIMELINE_SAMPLES, type Evaluation } from '../../src/eval/evaluate.ts';
import type { RequestSource } from '../../src/eval/sources.ts';
import { TINY_METAS } from './tiny-dataset.ts';
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

  it('bounds the timeline over a years-long gap', async () => {
    // Epoch 0 next to a 2019 timestamp: at 60 s a sample, the gap alone would take 26 million samples.
    const gapMs = Date.UTC(2019, 6, 1);
    const source: RequestSource = {
      name: 'gap',
      metas: new Map([[TINY_METAS[0]!.key, TINY_METAS[0]!]]),
      async *requests() {
        yield { startTime: 0, metaKey: TINY_METAS[0]!.key, durationsInMs: 100, statusCode: 200 };
        yield { startTime: gapMs, metaKey: TINY_METAS[0]!.key, durationsInMs: 100, statusCode: 200 };
      },
    };
    const { timeline, summary } = await evaluate({ source, policy: 'reference' });

    expect(summary.overall.served, 'served').to.equal(2);
    expect(timeline.length, 'samples').to.be.within(MAX_TIMELINE_SAMPLES / 2, MAX_TIMELINE_SAMPLES);
    const intervalMs = timeline[1]!.atMs - timeline[0]!.atMs;
    expect(intervalMs, 'interval').to.be.greaterThan(60_000);
    timeline.forEach((sample, index) => expect(sample.atMs, `sample ${index}`).to.equal(timeline[0]!.atMs + index * intervalMs));
    expect(timeline.at(-1)!.atMs + intervalMs, 'last sample').to.be.greaterThan(gapMs);
  });

  it('scores policies differently on the same source', async () => {
    // A guard that the determinism check above compares real runs, not a constant.
    const shortKeepAlive = await evaluate({ source: tinySource(), policy: 'fixed-keepalive:1s' });
    const longKeepAlive = await evaluate({ source: tinySource(), policy: 'fixed-keepalive:10m' });

    expect(shortKeepAlive.summary.overall.coldStarts).to.be.greaterThan(longKeepAlive.summary.overall.coldStarts);
    expect(shortKeepAlive.summary.overall.wastedGBs).to.be.lessThan(longKeepAlive.summary.overall.wastedGBs);
  });
});

describe('openSource', () => {
  /** Returns the message that opening `spec` rejects with, or '' when it opens. */
  async function rejectionOf(spec: string): Promise<string> {
    return openSource(spec).then(
      () => '',
      (error: unknown) => (error as Error).message,
    );
  }

  it('rejects a size with no embedded sample', async () => {
    const message = await rejectionOf('azure:7');
    expect(message).to.include('no embedded sample has 7 functions');
    expect(message).to.include('use 10, 100, 200');
  });

  it('rejects an unknown shape', async () => {
    const message = await rejectionOf('azure:10:lambda');
    expect(message).to.include('shape must be azure or contest, got "lambda"');
  });
});
