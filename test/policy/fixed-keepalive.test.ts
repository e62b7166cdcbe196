import { expect } from 'chai';
import { FixedKeepAlivePolicy, type FixedKeepAliveOptions } from '../../src/policy/fixed-keepalive.ts';
import type { AppPolicy, Policy, PoolCounts } from '../../src/policy/types.ts';
import type { AppMeta } from '../../src/types.ts';

const meta: AppMeta = { key: 'app-a', runtime: 'node', timeoutInSecs: 10, memoryInMb: 128 };

function appPolicy(options: FixedKeepAliveOptions): AppPolicy {
  const policy: Policy = new FixedKeepAlivePolicy(options);
  return policy.forApp(meta);
}

function pool(counts: Partial<PoolCounts>): PoolCounts {
  return { idle: 0, busy: 0, starting: 0, queued: 0, ...counts };
}

describe('FixedKeepAlivePolicy', () => {
  describe('slotsToCreate', () => {
    const cases: { label: string; pool: PoolCounts; expected: number }[] = [
      { label: 'nothing queued', pool: pool({}), expected: 0 },
      { label: 'one queued, none starting', pool: pool({ queued: 1 }), expected: 1 },
      { label: 'one queued, one starting', pool: pool({ queued: 1, starting: 1 }), expected: 0 },
      { label: 'five queued, two starting', pool: pool({ queued: 5, starting: 2 }), expected: 3 },
      { label: 'more starting than queued', pool: pool({ queued: 1, starting: 4 }), expected: 0 },
      { label: 'idle and busy ignored', pool: pool({ queued: 2, idle: 3, busy: 7 }), expected: 2 },
    ];
    for (const testCase of cases) {
      it(testCase.label, () => {
        const policy = appPolicy({ keepAliveMs: 60_000 });
        expect(policy.slotsToCreate(1_000, testCase.pool)).to.equal(testCase.expected);
      });
    }
  });

  describe('keepAliveMs', () => {
    const cases: { label: string; options: FixedKeepAliveOptions; now: number; expected: number }[] = [
      { label: 'fixed without interval', options: { keepAliveMs: 300_000 }, now: 12_345, expected: 300_000 },
      { label: 'zero keep-alive', options: { keepAliveMs: 0 }, now: 12_345, expected: 0 },
      {
        label: 'rounded up to interval',
        options: { keepAliveMs: 300_000, checkIntervalMs: 10_000 },
        now: 12_345,
        // Expiry at 312_345 rounds up to the sweep at 320_000.
        expected: 307_655,
      },
      {
        label: 'expiry already on interval',
        options: { keepAliveMs: 300_000, checkIntervalMs: 10_000 },
        now: 20_000,
        expected: 300_000,
      },
      {
        label: 'interval longer than keep-alive',
        options: { keepAliveMs: 1_000, checkIntervalMs: 60_000 },
        now: 59_500,
        expected: 60_500,
      },
      {
        label: 'zero keep-alive with interval',
        options: { keepAliveMs: 0, checkIntervalMs: 10_000 },
        now: 5_000,
        expected: 5_000,
      },
    ];
    for (const testCase of cases) {
      it(testCase.label, () => {
        const policy = appPolicy(testCase.options);
        // The fixed policy keeps released slots and slots made ready without a request alike.
        expect(policy.keepAliveMs(testCase.now, pool({}), 'released'), 'released').to.equal(testCase.expected);
        expect(policy.keepAliveMs(testCase.now, pool({}), 'ready'), 'ready').to.equal(testCase.expected);
      });
    }
  });

  describe('options', () => {
    const invalid: { label: string; options: FixedKeepAliveOptions; message: RegExp }[] = [
      { label: 'negative keep-alive', options: { keepAliveMs: -1 }, message: /keepAliveMs.*-1/ },
      { label: 'NaN keep-alive', options: { keepAliveMs: Number.NaN }, message: /keepAliveMs.*NaN/ },
      { label: 'infinite keep-alive', options: { keepAliveMs: Number.POSITIVE_INFINITY }, message: /keepAliveMs.*Infinity/ },
      { label: 'zero interval', options: { keepAliveMs: 1_000, checkIntervalMs: 0 }, message: /checkIntervalMs.*0/ },
      { label: 'negative interval', options: { keepAliveMs: 1_000, checkIntervalMs: -5 }, message: /checkIntervalMs.*-5/ },
      { label: 'NaN interval', options: { keepAliveMs: 1_000, checkIntervalMs: Number.NaN }, message: /checkIntervalMs.*NaN/ },
      {
        label: 'infinite interval',
        options: { keepAliveMs: 1_000, checkIntervalMs: Number.POSITIVE_INFINITY },
        message: /checkIntervalMs.*Infinity/,
      },
    ];
    for (const testCase of invalid) {
      it(`rejects ${testCase.label}`, () => {
        expect(() => new FixedKeepAlivePolicy(testCase.options)).to.throw(RangeError, testCase.message);
      });
    }

    it('uses given name', () => {
      expect(new FixedKeepAlivePolicy({ keepAliveMs: 1 }).name).to.equal('fixed-keepalive');
      expect(new FixedKeepAlivePolicy({ keepAliveMs: 1 }, 'keep-1ms').name).to.equal('keep-1ms');
    });

    it('copies options at construction', () => {
      const options: FixedKeepAliveOptions = { keepAliveMs: 5_000 };
      const policy: Policy = new FixedKeepAlivePolicy(options);
      options.keepAliveMs = 1;

      expect(policy.forApp(meta).keepAliveMs(0, pool({}), 'released')).to.equal(5_000);
    });

    it('explains its settings', () => {
      const plain = appPolicy({ keepAliveMs: 5_000 });
      const swept = appPolicy({ keepAliveMs: 5_000, checkIntervalMs: 1_000 });

      expect(plain.explain?.()).to.equal('fixed keep-alive 5000 ms');
      expect(swept.explain?.()).to.equal('fixed keep-alive 5000 ms, swept every 1000 ms');
    });

    it('never creates ahead of demand', () => {
      const policy = appPolicy({ keepAliveMs: 5_000 });
      expect(policy.prewarm).to.equal(undefined);
    });
  });
});
