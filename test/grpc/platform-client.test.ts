import { expect } from 'chai';
import { GrpcPlatformClient } from '../../src/grpc/platform-client.ts';
import { PlatformError } from '../../src/platform/client.ts';
import { captureLog } from './log-capture.ts';
import { TestPlatform, findUnusedPort } from './test-platform.ts';

const meta = { key: 'app-a', runtime: 'node', timeoutInSecs: 30, memoryInMb: 256 };

async function expectPlatformError(promise: Promise<unknown>): Promise<PlatformError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(PlatformError);
    return error as PlatformError;
  }
  expect.fail('the call resolved; expected a PlatformError');
}

describe('GrpcPlatformClient', () => {
  let platform: TestPlatform;
  let client: GrpcPlatformClient;

  beforeEach(async () => {
    platform = await TestPlatform.start();
    client = new GrpcPlatformClient({ address: platform.address, callTimeoutMs: 2_000, initTimeoutMs: 2_000 });
  });

  afterEach(async () => {
    client.close();
    await platform.stop();
  });

  it('maps a created slot', async () => {
    const slot = await client.createSlot({ requestId: 'req-1', memoryInMb: 256 });

    expect(slot).to.deep.equal({ slotId: 'slot-1', memoryInMb: 256, createTime: 1_000, createDurationMs: 7 });
    expect(platform.callsOf('CreateSlot')).to.deep.equal([
      { request_id: 'req-1', resource_config: { memory_in_megabytes: 256 } },
    ]);
  });

  it('sends the app meta on init', async () => {
    const { slotId } = await client.createSlot({ requestId: 'req-1', memoryInMb: 256 });
    const initialized = await client.init({ requestId: 'req-1', slotId, instanceId: 'inst-1', meta });

    expect(initialized).to.deep.equal({ initDurationMs: 11 });
    expect(platform.callsOf('Init')).to.deep.equal([
      {
        request_id: 'req-1',
        slot_id: 'slot-1',
        instance_id: 'inst-1',
        meta_data: { key: 'app-a', runtime: 'node', timeout_in_secs: 30, memory_in_mb: 256 },
      },
    ]);
  });

  it('destroys a slot with its reason', async () => {
    const { slotId } = await client.createSlot({ requestId: 'req-1', memoryInMb: 128 });
    await client.destroySlot({ requestId: 'req-2', slotId, reason: 'keep-alive expired' });

    const destroyed = platform.callsOf('DestroySlot').map(({ request_id, id, reason }) => ({ request_id, id, reason }));
    expect(destroyed).to.deep.equal([{ request_id: 'req-2', id: 'slot-1', reason: 'keep-alive expired' }]);
    expect(platform.liveSlots.size).to.equal(0);
  });

  it('rejects a non-Ok reply with its message', async () => {
    platform.failures.CreateSlot = { status: 'Throttle', message: 'no memory left on the node' };

    const error = await expectPlatformError(client.createSlot({ requestId: 'req-1', memoryInMb: 128 }));

    expect(error.call).to.equal('CreateSlot');
    expect(error.status).to.equal('Throttle');
    expect(error.message).to.include('no memory left on the node');
  });

  it('rejects Init and DestroySlot failures', async () => {
    const init = await expectPlatformError(client.init({ requestId: 'req-1', slotId: 'slot-9', instanceId: 'i', meta }));
    const destroy = await expectPlatformError(client.destroySlot({ requestId: 'req-2', slotId: 'slot-9', reason: 'x' }));

    expect(init.call).to.equal('Init');
    expect(init.status).to.equal('NotFound');
    expect(init.message).to.include('slot slot-9 not found');
    expect(destroy.call).to.equal('DestroySlot');
    expect(destroy.status).to.equal('NotFound');
  });

  it('limits calls in flight', async () => {
    const limited = new GrpcPlatformClient({ address: platform.address, callTimeoutMs: 2_000, maxConcurrentCalls: 2 });
    platform.holdCreateSlot = true;
    const calls = [1, 2, 3].map((n) => limited.createSlot({ requestId: `req-${n}`, memoryInMb: 128 }));

    await platform.waitForCalls('CreateSlot', 2);
    // Both slots are taken by held calls, so the third waits in the client.
    expect(limited.waitingCalls).to.equal(1);

    platform.releaseHeld();
    const slots = await Promise.all(calls);
    expect(slots.map((slot) => slot.slotId).sort()).to.deep.equal(['slot-1', 'slot-2', 'slot-3']);
    expect(limited.waitingCalls).to.equal(0);
    limited.close();
  });

  it('rejects calls after close', async () => {
    client.close();

    const error = await expectPlatformError(client.createSlot({ requestId: 'req-1', memoryInMb: 128 }));

    expect(error.status).to.equal('Unavailable');
    expect(error.message).to.include('closed');
  });
});

describe('GrpcPlatformClient without a platform', () => {
  it('rejects within the deadline', async () => {
    const port = await findUnusedPort();
    const client = new GrpcPlatformClient({ address: `127.0.0.1:${port}`, callTimeoutMs: 200 });
    try {
      const error = await expectPlatformError(client.createSlot({ requestId: 'req-1', memoryInMb: 128 }));

      expect(error.call).to.equal('CreateSlot');
      expect(error.status).to.equal('Unavailable');
      expect(error.message).to.include(`127.0.0.1:${port}`);
    } finally {
      client.close();
    }
  });

  it('logs once when unreachable and once when reached', async () => {
    const port = await findUnusedPort();
    const log = captureLog();
    const client = new GrpcPlatformClient({ address: `127.0.0.1:${port}`, callTimeoutMs: 5_000, logger: log.logger });
    let platform: TestPlatform | undefined;
    try {
      const warning = await log.waitFor('platform not reachable yet; its calls fail until it accepts connections');
      platform = await TestPlatform.start(port);

      // The channel retries within about a second; the deadline bounds the wait.
      const slot = await client.createSlot({ requestId: 'req-1', memoryInMb: 128 });
      await log.waitFor('platform reachable');

      expect(slot.slotId).to.equal('slot-1');
      expect(warning.platform).to.equal(`127.0.0.1:${port}`);
      expect(log.messages()).to.deep.equal([
        'platform not reachable yet; its calls fail until it accepts connections',
        'platform reachable',
      ]);
    } finally {
      client.close();
      await platform?.stop();
    }
  });

  it('rejects non-positive timeouts', () => {
    expect(() => new GrpcPlatformClient({ address: '127.0.0.1:1', callTimeoutMs: 0 })).to.throw(
      RangeError,
      'callTimeoutMs must be a positive number of ms, got 0',
    );
  });
});
