import { expect } from 'chai';
import { createActorScaler, type ActorScaler } from '../../actors/scaler.ts';
import { VirtualClock } from '../../src/clock.ts';
import { GrpcPlatformClient } from '../../src/grpc/platform-client.ts';
import { startScalerServer, type ScalerServer } from '../../src/grpc/scaler-server.ts';
import { silentLogger } from '../../src/log.ts';
import { FixedKeepAlivePolicy } from '../../src/policy/fixed-keepalive.ts';
import type { WireAssignRequest, WireIdleRequest } from '../../src/proto.ts';
import { ScalerTestClient } from './scaler-client.ts';
import { TestPlatform } from './test-platform.ts';

/*
 * The real scaler server, the real actor scaler and the gRPC platform client,
 * against a test platform over loopback. The virtual clock never moves, so no
 * keep-alive expires and every outcome is decided by the calls alone.
 */

function assignRequest(requestId: string, key = 'app-a'): WireAssignRequest {
  return {
    request_id: requestId,
    timestamp: 0,
    meta_data: { key, runtime: 'node', timeout_in_secs: 30, memory_in_mb: 512 },
  };
}

function idleRequest(requestId: string, instanceId: string, needDestroy = false, key = 'app-a'): WireIdleRequest {
  return {
    assigment: { request_id: requestId, meta_key: key, instance_id: instanceId },
    result: { status_code: needDestroy ? 500 : 200, duration_in_ms: 20, need_destroy: needDestroy },
  };
}

describe('scaler over gRPC', () => {
  let platform: TestPlatform;
  let platformClient: GrpcPlatformClient;
  let scaler: ActorScaler;
  let server: ScalerServer;
  let client: ScalerTestClient;

  beforeEach(async () => {
    platform = await TestPlatform.start();
    platformClient = new GrpcPlatformClient({ address: platform.address, callTimeoutMs: 5_000 });
    scaler = createActorScaler({
      platform: platformClient,
      policy: new FixedKeepAlivePolicy({ keepAliveMs: 60_000 }),
      clock: new VirtualClock(0),
      logger: silentLogger,
    });
    server = await startScalerServer({ scaler, host: '127.0.0.1', port: 0, logger: silentLogger });
    client = new ScalerTestClient(server.address);
  });

  afterEach(async () => {
    client.close();
    await server.stop();
    await scaler.shutdown();
    platformClient.close();
    await platform.stop();
  });

  it('creates and inits a slot on assign', async () => {
    const reply = await client.assign(assignRequest('req-1'));

    expect(reply.status).to.equal('Ok');
    expect(reply.assigment?.request_id).to.equal('req-1');
    expect(reply.assigment?.meta_key).to.equal('app-a');
    expect(platform.calls.map((call) => call.rpc)).to.deep.equal(['CreateSlot', 'Init']);
    expect(platform.callsOf('CreateSlot')[0]?.resource_config).to.deep.equal({ memory_in_megabytes: 512 });
    const init = platform.callsOf('Init')[0];
    expect(init?.slot_id).to.equal('slot-1');
    expect(init?.instance_id).to.equal(reply.assigment?.instance_id);
    expect(init?.meta_data?.key).to.equal('app-a');
  });

  it('reuses a released slot', async () => {
    const first = await client.assign(assignRequest('req-1'));
    const instanceId = first.assigment!.instance_id;
    const idle = await client.idle(idleRequest('req-1', instanceId));
    const second = await client.assign(assignRequest('req-2'));

    expect(idle.status).to.equal('Ok');
    expect(second.status).to.equal('Ok');
    expect(second.assigment?.instance_id).to.equal(instanceId);
    expect(platform.callsOf('CreateSlot')).to.have.length(1);
    expect(platform.callsOf('Init')).to.have.length(1);
  });

  it('destroys a slot released with need_destroy', async () => {
    const first = await client.assign(assignRequest('req-1'));
    const instanceId = first.assigment!.instance_id;

    const idle = await client.idle(idleRequest('req-1', instanceId, true));
    await platform.waitForCalls('DestroySlot', 1);

    expect(idle.status).to.equal('Ok');
    expect(platform.callsOf('DestroySlot')[0]?.id).to.equal('slot-1');
    expect(platform.liveSlots.size).to.equal(0);
  });

  it('creates a new slot after need_destroy', async () => {
    const first = await client.assign(assignRequest('req-1'));
    await client.idle(idleRequest('req-1', first.assigment!.instance_id, true));
    await platform.waitForCalls('DestroySlot', 1);

    const second = await client.assign(assignRequest('req-2'));

    expect(second.status).to.equal('Ok');
    expect(second.assigment?.instance_id).to.not.equal(first.assigment?.instance_id);
    expect(platform.callsOf('CreateSlot')).to.have.length(2);
  });

  it('answers NotFound for unknown instance', async () => {
    await client.assign(assignRequest('req-1'));

    const reply = await client.idle(idleRequest('req-1', 'instance-unknown'));

    expect(reply.status).to.equal('NotFound');
    expect(reply.error_message).to.include('instance-unknown');
  });

  it('answers NotFound for unknown app', async () => {
    const reply = await client.idle(idleRequest('req-1', 'instance-1', false, 'app-never-assigned'));

    expect(reply.status).to.equal('NotFound');
    expect(reply.error_message).to.include('app-never-assigned');
  });

  it('destroys every slot on shutdown', async () => {
    const replies = await Promise.all([
      client.assign(assignRequest('req-1')),
      client.assign(assignRequest('req-2')),
      client.assign(assignRequest('req-3', 'app-b')),
    ]);
    await client.idle(idleRequest('req-1', replies[0]!.assigment!.instance_id));

    await scaler.shutdown();

    expect(replies.map((reply) => reply.status)).to.deep.equal(['Ok', 'Ok', 'Ok']);
    expect(platform.callsOf('CreateSlot')).to.have.length(3);
    expect(platform.callsOf('DestroySlot').map((request) => request.id).sort()).to.deep.equal([
      'slot-1',
      'slot-2',
      'slot-3',
    ]);
    expect(platform.liveSlots.size).to.equal(0);
  });
});
