import { expect } from 'chai';
import { VirtualClock } from '../../src/clock.ts';
import { GrpcPlatformClient } from '../../src/grpc/platform-client.ts';
import { PlatformError } from '../../src/platform/client.ts';
import { SimPlatform } from '../../src/sim/platform.ts';
import { startPlatformServer, type RunningPlatformServer } from '../../src/sim/platform-server.ts';
import type { DatasetMeta } from '../../src/sim/types.ts';

const APP: DatasetMeta = { key: 'app-a', runtime: 'go', timeoutInSecs: 60, memoryInMb: 256, initDurationInMs: 40 };
const META = { key: APP.key, runtime: APP.runtime, timeoutInSecs: APP.timeoutInSecs, memoryInMb: APP.memoryInMb };

/**
 * Waits for `promise` while moving the virtual clock from timer to timer, so
 * the simulated platform's waits take no real time.
 */
async function settle<T>(clock: VirtualClock, promise: Promise<T>): Promise<T> {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  tracked.catch(() => {});
  while (!settled) {
    await new Promise((resolve) => setImmediate(resolve));
    const due = clock.nextDue();
    if (due !== undefined) clock.advanceTo(due);
  }
  return tracked;
}

describe('GrpcPlatformClient with the simulated platform', () => {
  let clock: VirtualClock;
  let server: RunningPlatformServer;
  let client: GrpcPlatformClient;

  beforeEach(async () => {
    clock = new VirtualClock(5_000);
    const platform = new SimPlatform({ clock, metas: new Map([[APP.key, APP]]), createDurationMs: 100 });
    server = await startPlatformServer({ platform, port: 0 });
    client = new GrpcPlatformClient({ address: `127.0.0.1:${server.port}` });
  });

  afterEach(async () => {
    client.close();
    await server.stop();
  });

  it('creates, inits and destroys a slot', async () => {
    const slot = await settle(clock, client.createSlot({ requestId: 'req-1', memoryInMb: 256 }));
    const initialized = await settle(
      clock,
      client.init({ requestId: 'req-1', slotId: slot.slotId, instanceId: 'instance-1', meta: META }),
    );
    await settle(clock, client.destroySlot({ requestId: 'req-2', slotId: slot.slotId, reason: 'test finished' }));

    expect(slot.slotId).to.be.a('string').and.not.equal('');
    expect(slot.memoryInMb).to.equal(256);
    expect(slot.createDurationMs).to.equal(100);
    expect(initialized.initDurationMs).to.equal(40);
  });

  it('carries the platform status on failure', async () => {
    let failure: unknown;
    await settle(clock, client.destroySlot({ requestId: 'req-1', slotId: 'slot-unknown', reason: 'test' })).catch(
      (error) => {
        failure = error;
      },
    );

    expect(failure).to.be.instanceOf(PlatformError);
    expect((failure as PlatformError).call).to.equal('DestroySlot');
    expect((failure as PlatformError).status).to.equal('NotFound');
    expect((failure as PlatformError).message).to.include('slot-unknown');
  });
});
