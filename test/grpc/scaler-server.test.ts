import { expect } from 'chai';
import { startScalerServer, type ScalerServer } from '../../src/grpc/scaler-server.ts';
import type { WireAssignRequest, WireIdleRequest } from '../../src/proto.ts';
import type { AssignOutcome, AssignRequest, IdleOutcome, IdleRequest, ScalerApi } from '../../src/types.ts';
import { captureLog, type CapturedLog } from './log-capture.ts';
import { ScalerTestClient } from './scaler-client.ts';

/**
 * A fake ScalerApi that records what reaches it and returns the outcomes the
 * test sets, so the edge's validation and mapping are checked on their own.
 */
class RecordingFakeScaler implements ScalerApi {
  readonly assigned: AssignRequest[] = [];
  readonly idled: IdleRequest[] = [];
  assignOutcome: AssignOutcome | Error = { status: 'Ok', instanceId: 'inst-1', slotId: 'slot-1' };
  idleOutcome: IdleOutcome | Error = { status: 'Ok' };
  /** When set, calls throw synchronously instead of returning a promise. */
  throwSynchronously = false;

  assign(request: AssignRequest): Promise<AssignOutcome> {
    this.assigned.push(request);
    return this.#settle(this.assignOutcome);
  }

  idle(request: IdleRequest): Promise<IdleOutcome> {
    this.idled.push(request);
    return this.#settle(this.idleOutcome);
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  #settle<T>(outcome: T | Error): Promise<T> {
    if (!(outcome instanceof Error)) return Promise.resolve(outcome);
    if (this.throwSynchronously) throw outcome;
    return Promise.reject(outcome);
  }
}

const validMeta = { key: 'app-a', runtime: 'node', timeout_in_secs: 30, memory_in_mb: 256 };
const validAssign: WireAssignRequest = { request_id: 'req-1', timestamp: 1_700_000_000_000, meta_data: validMeta };
const validIdle: WireIdleRequest = {
  assigment: { request_id: 'req-1', meta_key: 'app-a', instance_id: 'inst-1' },
  result: { status_code: 200, duration_in_ms: 42 },
};

describe('scaler server', () => {
  let scaler: RecordingFakeScaler;
  let log: CapturedLog;
  let server: ScalerServer;
  let client: ScalerTestClient;

  beforeEach(async () => {
    scaler = new RecordingFakeScaler();
    log = captureLog();
    server = await startScalerServer({ scaler, host: '127.0.0.1', port: 0, logger: log.logger });
    client = new ScalerTestClient(server.address);
  });

  afterEach(async () => {
    client.close();
    await server.stop();
  });

  it('binds an ephemeral port', () => {
    expect(server.port).to.be.greaterThan(0);
    expect(server.address).to.equal(`127.0.0.1:${server.port}`);
  });

  it('maps a valid assign', async () => {
    const reply = await client.assign(validAssign);

    expect(reply.status).to.equal('Ok');
    expect(reply.assigment).to.deep.equal({ request_id: 'req-1', meta_key: 'app-a', instance_id: 'inst-1' });
    expect(scaler.assigned).to.deep.equal([
      {
        requestId: 'req-1',
        timestamp: 1_700_000_000_000,
        meta: { key: 'app-a', runtime: 'node', timeoutInSecs: 30, memoryInMb: 256 },
      },
    ]);
  });

  it('maps a valid idle', async () => {
    const reply = await client.idle({
      ...validIdle,
      result: { status_code: 500, duration_in_ms: 42, need_destroy: true, reason: 'crashed' },
    });

    expect(reply.status).to.equal('Ok');
    expect(scaler.idled).to.deep.equal([
      {
        requestId: 'req-1',
        metaKey: 'app-a',
        instanceId: 'inst-1',
        statusCode: 500,
        durationMs: 42,
        needDestroy: true,
        reason: 'crashed',
      },
    ]);
  });

  it('defaults need_destroy to false', async () => {
    await client.idle(validIdle);

    expect(scaler.idled[0]?.needDestroy).to.equal(false);
    expect(scaler.idled[0]).to.not.have.property('reason');
  });

  it('carries domain statuses in the reply', async () => {
    scaler.assignOutcome = { status: 'Throttle', message: 'too many requests queued for app-a' };
    scaler.idleOutcome = { status: 'NotFound', message: 'instance inst-9 not found' };

    const assign = await client.assign(validAssign);
    const idle = await client.idle(validIdle);

    expect(assign.status).to.equal('Throttle');
    expect(assign.error_message).to.equal('too many requests queued for app-a');
    expect(assign.assigment).to.equal(null);
    expect(idle.status).to.equal('NotFound');
    expect(idle.error_message).to.equal('instance inst-9 not found');
  });

  const invalidAssigns: Array<{ label: string; request: Partial<WireAssignRequest>; message: string }> = [
    {
      label: 'missing meta_data',
      request: { request_id: 'req-1', timestamp: 1 },
      message: "invalid Assign request: meta_data is missing; expected the app's Meta message",
    },
    {
      label: 'empty meta key',
      request: { ...validAssign, meta_data: { ...validMeta, key: '' } },
      message: 'invalid Assign request: meta_data.key is ""; expected a non-empty string',
    },
    {
      label: 'zero memory',
      request: { ...validAssign, meta_data: { ...validMeta, memory_in_mb: 0 } },
      message: 'invalid Assign request: meta_data.memory_in_mb is 0; expected a positive number of MB',
    },
    {
      label: 'zero timeout',
      request: { ...validAssign, meta_data: { ...validMeta, timeout_in_secs: 0 } },
      message: 'invalid Assign request: meta_data.timeout_in_secs is 0; expected a positive number of seconds',
    },
    {
      label: 'empty request_id',
      request: { ...validAssign, request_id: '' },
      message: 'invalid Assign request: request_id is ""; expected a non-empty string',
    },
  ];

  for (const { label, request, message } of invalidAssigns) {
    it(`rejects assign with ${label}`, async () => {
      const reply = await client.assign(request);

      expect(reply.status).to.equal('InvalidArgument');
      expect(reply.error_message).to.equal(message);
      expect(scaler.assigned).to.have.length(0);
    });
  }

  const invalidIdles: Array<{ label: string; request: Partial<WireIdleRequest>; message: string }> = [
    {
      label: 'missing assigment',
      request: { result: validIdle.result },
      message: 'invalid Idle request: assigment is missing; expected the Assignment that Assign returned',
    },
    {
      label: 'empty instance_id',
      request: { ...validIdle, assigment: { ...validIdle.assigment!, instance_id: '' } },
      message: 'invalid Idle request: assigment.instance_id is ""; expected a non-empty string',
    },
    {
      label: 'empty meta_key',
      request: { ...validIdle, assigment: { ...validIdle.assigment!, meta_key: '' } },
      message: 'invalid Idle request: assigment.meta_key is ""; expected a non-empty string',
    },
    {
      label: 'empty request_id',
      request: { ...validIdle, assigment: { ...validIdle.assigment!, request_id: '' } },
      message: 'invalid Idle request: assigment.request_id is ""; expected a non-empty string',
    },
    {
      label: 'missing result',
      request: { assigment: validIdle.assigment },
      message: "invalid Idle request: result is missing; expected the request's Result message",
    },
  ];

  for (const { label, request, message } of invalidIdles) {
    it(`rejects idle with ${label}`, async () => {
      const reply = await client.idle(request);

      expect(reply.status).to.equal('InvalidArgument');
      expect(reply.error_message).to.equal(message);
      expect(scaler.idled).to.have.length(0);
    });
  }

  it('keeps serving after invalid requests', async () => {
    for (const { request } of invalidAssigns) await client.assign(request);
    for (const { request } of invalidIdles) await client.idle(request);

    const assign = await client.assign(validAssign);
    const idle = await client.idle(validIdle);

    expect(assign.status).to.equal('Ok');
    expect(idle.status).to.equal('Ok');
  });

  it('logs invalid requests at 1, 10, 100', async () => {
    for (let i = 0; i < 100; i++) await client.assign({ ...validAssign, request_id: '' });

    const warnings = log.lines.filter((line) => line.msg === 'invalid request rejected');
    expect(warnings.map((line) => line.invalidRequests)).to.deep.equal([1, 10, 100]);
    expect(warnings[0]?.error).to.equal('invalid Assign request: request_id is ""; expected a non-empty string');
  });

  it('answers InternalError when the scaler rejects', async () => {
    scaler.assignOutcome = new Error('supervisor for app-a stopped');
    scaler.idleOutcome = new Error('slot map corrupted');

    const assign = await client.assign(validAssign);
    const idle = await client.idle(validIdle);

    expect(assign.status).to.equal('InternalError');
    expect(assign.error_message).to.equal('supervisor for app-a stopped');
    expect(idle.status).to.equal('InternalError');
    expect(idle.error_message).to.equal('slot map corrupted');
    const errors = log.lines.filter((line) => line.level === 50);
    expect(errors.map((line) => line.msg)).to.deep.equal([
      'assign failed inside the scaler',
      'idle failed inside the scaler',
    ]);
    expect(errors[0]).to.include({ requestId: 'req-1', metaKey: 'app-a' });
    expect(errors[1]).to.include({ requestId: 'req-1', metaKey: 'app-a', instanceId: 'inst-1' });
  });

  it('answers InternalError when the scaler throws', async () => {
    scaler.throwSynchronously = true;
    scaler.assignOutcome = new Error('assign threw');
    scaler.idleOutcome = new Error('idle threw');

    const assign = await client.assign(validAssign);
    const idle = await client.idle(validIdle);
    scaler.throwSynchronously = false;
    scaler.assignOutcome = { status: 'Ok', instanceId: 'inst-2', slotId: 'slot-2' };
    const after = await client.assign(validAssign);

    expect(assign.status).to.equal('InternalError');
    expect(assign.error_message).to.equal('assign threw');
    expect(idle.status).to.equal('InternalError');
    expect(idle.error_message).to.equal('idle threw');
    expect(after.assigment?.instance_id).to.equal('inst-2');
  });
});

describe('scaler server start', () => {
  it('rejects a port in use', async () => {
    const scaler = new RecordingFakeScaler();
    const logger = captureLog().logger;
    const first = await startScalerServer({ scaler, host: '127.0.0.1', port: 0, logger });
    try {
      let failure: unknown;
      await startScalerServer({ scaler, host: '127.0.0.1', port: first.port, logger }).catch((error) => {
        failure = error;
      });

      expect(failure).to.be.instanceOf(Error);
      expect((failure as Error).message).to.include(`cannot listen on 127.0.0.1:${first.port}`);
    } finally {
      await first.stop();
    }
  });

  it('rejects an out-of-range port', async () => {
    let failure: unknown;
    await startScalerServer({
      scaler: new RecordingFakeScaler(),
      host: '127.0.0.1',
      port: 70_000,
      logger: captureLog().logger,
    }).catch((error) => {
      failure = error;
    });

    expect(failure).to.be.instanceOf(RangeError);
    expect((failure as Error).message).to.equal('port must be an integer from 0 to 65535, got 70000');
  });
});
