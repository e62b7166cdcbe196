import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { VirtualClock } from '../../src/clock.ts';
import { loadServices } from '../../src/proto.ts';
import { SimPlatform, type SimPlatformOptions } from '../../src/sim/platform.ts';
import { startPlatformServer } from '../../src/sim/platform-server.ts';
import type { DatasetMeta } from '../../src/sim/types.ts';

const APP: DatasetMeta = { key: 'app-a', runtime: 'go', timeoutInSecs: 60, memoryInMb: 256, initDurationInMs: 40 };
const WIRE_META = { key: APP.key, runtime: APP.runtime, timeout_in_secs: APP.timeoutInSecs, memory_in_mb: APP.memoryInMb };

type Reply = Record<string, unknown> & { status: string; error_message?: string };

interface Harness {
  clock: VirtualClock;
  platform: SimPlatform;
  call(method: 'CreateSlot' | 'Init' | 'DestroySlot', request: object): Promise<Reply>;
  close(): Promise<void>;
}

/**
 * Starts a platform server on an ephemeral loopback port and a raw gRPC client.
 * `call` advances the virtual clock from timer to timer until the reply comes,
 * so waits on the platform take no real time.
 */
async function startHarness(options: Partial<SimPlatformOptions> = {}): Promise<Harness> {
  const clock = new VirtualClock(5_000);
  const platform = new SimPlatform({ clock, metas: new Map([[APP.key, APP]]), createDurationMs: 100, ...options });
  const server = await startPlatformServer({ platform, port: 0 });
  const Platform = loadServices().Platform;
  const client = new Platform(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as unknown as
    Record<string, (request: object, callback: (error: grpc.ServiceError | null, reply: Reply) => void) => void>;

  return {
    clock,
    platform,
    async call(method, request) {
      let outcome: { error: grpc.ServiceError | null; reply: Reply } | undefined;
      client[method]!.call(client, request, (error, reply) => {
        outcome = { error, reply };
      });
      while (!outcome) {
        await new Promise((resolve) => setImmediate(resolve));
        const due = clock.nextDue();
        if (due !== undefined) clock.advanceTo(due);
      }
      if (outcome.error) throw outcome.error;
      return outcome.reply;
    },
    async close() {
      (client as unknown as grpc.Client).close();
      await server.stop();
    },
  };
}

describe('platform server', () => {
  let harness: Harness;

  beforeEach(async () => {
    harness = await startHarness();
  });

  afterEach(async () => {
    await harness.close();
  });

  async function createSlot(memory = 256): Promise<string> {
    const reply = await harness.call('CreateSlot', { request_id: 'c', resource_config: { memory_in_megabytes: memory } });
    expect(reply.status).to.equal('Ok');
    return (reply.slot as { id: string }).id;
  }

  function expectFailure(reply: Reply, status: string, pattern: RegExp): void {
    expect(reply.status).to.equal(status);
    expect(reply.error_message).to.match(pattern);
  }

  it('creates a slot', async () => {
    const reply = await harness.call('CreateSlot', { request_id: 'c1', resource_config: { memory_in_megabytes: 512 } });
    expect(reply.status).to.equal('Ok');
    expect(reply.slot).to.deep.equal({
      id: 'slot-1',
      resource_config: { memory_in_megabytes: 512 },
      create_time: 5_000,
      create_duration_in_ms: 100,
    });
    expect(harness.clock.now(), 'reply came after the creation time').to.equal(5_100);
  });

  it('initializes a slot', async () => {
    const slotId = await createSlot();
    const reply = await harness.call('Init', { request_id: 'i1', slot_id: slotId, instance_id: 'inst-1', meta_data: WIRE_META });
    expect(reply).to.include({ status: 'Ok', create_time: 5_000, init_duration_in_ms: APP.initDurationInMs });
    expect(harness.platform.lookupInstance('inst-1')).to.include({ slotId, initialized: true });
  });

  it('destroys a slot', async () => {
    const slotId = await createSlot();
    const reply = await harness.call('DestroySlot', { request_id: 'd1', id: slotId, reason: 'idle' });
    expect(reply.status).to.equal('Ok');
    expect(harness.platform.slotRecords()[0]?.destroyedAt).to.equal(5_100);
  });

  describe('rejects', () => {
    it('CreateSlot without resource_config', async () => {
      expectFailure(await harness.call('CreateSlot', { request_id: 'c1' }), 'InvalidArgument', /resource_config is missing/);
    });

    it('CreateSlot with zero memory', async () => {
      expectFailure(await harness.call('CreateSlot', { request_id: 'c1', resource_config: { memory_in_megabytes: 0 } }),
        'InvalidArgument', /memory must be a positive number of MB, got 0 \(request c1\)/);
    });

    it('CreateSlot without request_id', async () => {
      expectFailure(await harness.call('CreateSlot', { resource_config: { memory_in_megabytes: 128 } }),
        'InvalidArgument', /request_id is empty/);
    });

    it('Init without meta_data', async () => {
      const slotId = await createSlot();
      expectFailure(await harness.call('Init', { request_id: 'i1', slot_id: slotId, instance_id: 'inst-1' }),
        'InvalidArgument', /meta_data is missing/);
    });

    it('Init with empty ids', async () => {
      const slotId = await createSlot();
      expectFailure(await harness.call('Init', { request_id: 'i1', instance_id: 'inst-1', meta_data: WIRE_META }),
        'InvalidArgument', /slot_id is empty/);
      expectFailure(await harness.call('Init', { request_id: 'i1', slot_id: slotId, meta_data: WIRE_META }),
        'InvalidArgument', /instance_id is empty/);
      expectFailure(await harness.call('Init', { request_id: 'i1', slot_id: slotId, instance_id: 'x', meta_data: { ...WIRE_META, key: '' } }),
        'InvalidArgument', /meta_data.key is empty/);
    });

    it('Init on an unknown slot', async () => {
      expectFailure(await harness.call('Init', { request_id: 'i1', slot_id: 'slot-9', instance_id: 'inst-1', meta_data: WIRE_META }),
        'NotFound', /slot slot-9 not found \(request i1\)/);
    });

    it('Init for an unknown app', async () => {
      const slotId = await createSlot();
      expectFailure(await harness.call('Init', { request_id: 'i1', slot_id: slotId, instance_id: 'inst-1', meta_data: { ...WIRE_META, key: 'ghost' } }),
        'NotFound', /app ghost not found/);
    });

    it('Init on a small slot', async () => {
      const slotId = await createSlot(128);
      expectFailure(await harness.call('Init', { request_id: 'i1', slot_id: slotId, instance_id: 'inst-1', meta_data: WIRE_META }),
        'InvalidArgument', /slot slot-1 has 128 MB but app app-a needs 256 MB/);
    });

    it('Init twice', async () => {
      const slotId = await createSlot();
      await harness.call('Init', { request_id: 'i1', slot_id: slotId, instance_id: 'inst-1', meta_data: WIRE_META });
      expectFailure(await harness.call('Init', { request_id: 'i2', slot_id: slotId, instance_id: 'inst-2', meta_data: WIRE_META }),
        'InvalidArgument', /slot slot-1 is already initialized as instance inst-1/);
    });

    it('DestroySlot of an unknown slot', async () => {
      expectFailure(await harness.call('DestroySlot', { request_id: 'd1', id: 'slot-3' }), 'NotFound', /slot slot-3 not found \(request d1\)/);
    });

    it('DestroySlot without id', async () => {
      expectFailure(await harness.call('DestroySlot', { request_id: 'd1' }), 'InvalidArgument', /id is empty/);
    });

    it('DestroySlot twice', async () => {
      const slotId = await createSlot();
      await harness.call('DestroySlot', { request_id: 'd1', id: slotId });
      expectFailure(await harness.call('DestroySlot', { request_id: 'd2', id: slotId }), 'NotFound', /slot slot-1 was already destroyed/);
    });
  });

  it('answers injected faults with InternalError', async () => {
    const faulty = await startHarness({ createFailureRate: 1 });
    try {
      expectFailure(await faulty.call('CreateSlot', { request_id: 'c1', resource_config: { memory_in_megabytes: 128 } }),
        'InternalError', /injected fault \(request c1\)/);
    } finally {
      await faulty.close();
    }
  });

  it('answers InternalError on unexpected errors', async () => {
    /** A fake platform whose CreateSlot throws what no platform rejection looks like. */
    class ThrowingPlatformFake extends SimPlatform {
      override async createSlot(): Promise<never> {
        throw new TypeError('broken state');
      }
    }
    const clock = new VirtualClock(0);
    const platform = new ThrowingPlatformFake({ clock, metas: new Map() });
    const server = await startPlatformServer({ platform, port: 0 });
    const client = new (loadServices().Platform)(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    try {
      const reply = await new Promise<Reply>((resolve, reject) => {
        (client as unknown as Record<string, Function>).CreateSlot!.call(client,
          { request_id: 'c1', resource_config: { memory_in_megabytes: 128 } },
          (error: Error | null, value: Reply) => (error ? reject(error) : resolve(value)));
      });
      expectFailure(reply, 'InternalError', /unexpected error: broken state/);
    } finally {
      client.close();
      await server.stop();
    }
  });

  it('keeps serving after rejections', async () => {
    await harness.call('DestroySlot', { request_id: 'd1', id: 'nope' });
    await harness.call('CreateSlot', { request_id: 'c1' });
    const slotId = await createSlot();
    expect(slotId).to.equal('slot-1');
  });
});
