import { expect } from 'chai';
import { evaluate, type Evaluation } from '../../src/eval/evaluate.ts';
import { openSource } from '../../src/eval/sources.ts';
import { AdaptivePolicy } from '../../src/policy/adaptive.ts';
import { createPolicy } from '../../src/policy/index.ts';

/*
 * One hour (10:00 to 11:00) of the embedded 100-function Azure sample, in
 * each shape. In the azure shape executions are long next to initialization,
 * so releasing idle slots quickly wins; in the contest shape they are as
 * short as initialization, so keeping slots warm matters. One set of
 * parameters must beat every baseline on both.
 */
const WINDOW = { fromMinute: 600, minutes: 60 };
const BASELINES = ['reference', 'fixed-keepalive:10m', 'hybrid-histogram'];

async function score(dataset: string, policy: string): Promise<Evaluation> {
  return evaluate({ source: await openSource(dataset, WINDOW), policy });
}

describe('AdaptivePolicy', function () {
  this.timeout(120_000);

  for (const dataset of ['azure:100:azure', 'azure:100:contest']) {
    it(`beats every baseline on ${dataset}`, async () => {
      const adaptive = (await score(dataset, 'adaptive')).summary.overall;
      expect(adaptive.failed, 'failed requests').to.equal(0);
      for (const baseline of BASELINES) {
        const other = (await score(dataset, baseline)).summary.overall;
        expect(adaptive.score, `adaptive ${adaptive.score} against ${baseline} ${other.score}`).to.be.greaterThan(other.score);
      }
    });
  }

  it('trades memory for cold starts by weight', async () => {
    const balanced = (await score('azure:100:azure', 'adaptive')).summary.overall;
    const coldAverse = (await score('azure:100:azure', 'adaptive:100')).summary.overall;
    expect(coldAverse.coldStarts, 'cold starts').to.be.lessThan(balanced.coldStarts);
    expect(coldAverse.wastedGBs, 'wasted GB-s').to.be.greaterThan(balanced.wastedGBs);
  });

  it('rejects a weight that is not positive', () => {
    for (const weight of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new AdaptivePolicy({ coldStartWeight: weight }), String(weight)).to.throw(RangeError, /coldStartWeight/);
    }
    expect(() => createPolicy('adaptive:abc')).to.throw(RangeError, /adaptive weight is invalid: "abc"/);
    for (const text of ['0x10', ' 2', '1e3', '0', '-1', '']) {
      expect(() => createPolicy(`adaptive:${text}`), text).to.throw(RangeError, /adaptive weight is invalid/);
    }
    expect(createPolicy('adaptive:0.5').name).to.equal('adaptive:0.5');
    expect(createPolicy('adaptive:1200').name).to.equal('adaptive:1200');
  });

  it('names itself by weight', () => {
    expect(createPolicy('adaptive').name).to.equal('adaptive');
    expect(createPolicy('adaptive:2').name).to.equal('adaptive:2');
  });
});
