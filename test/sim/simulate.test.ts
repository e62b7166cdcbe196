import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { createActorScaler } from '../../actors/scaler.ts';
import { realClock } from '../../src/clock.ts';
import { GrpcPlatformClient } from '../../src/grpc/platform-client.ts';
import { startScalerServer } from '../../src/grpc/scaler-server.ts';
import { silentLogger } from '../../src/log.ts';
import { createPolicy } from '../../src/policy/index.ts';
import { registerSimulate, runSimulation, type SimulateOptions, type SimulationResult } from '../../src/sim/simulate.ts';
import type { DatasetMeta, DatasetRequest } from '../../src/sim/types.ts';

const METAS: DatasetMeta[] = [
  { key: 'alpha', runtime: 'node', timeoutInSecs: 30, memoryInMb: 256, initDurationInMs: 40 },
  { key: 'beta', runtime: 'python', timeoutInSecs: 30, memoryInMb: 1024, initDurationInMs: 90 },
];

/** 30 requests over 3 s of dataset time, with bursts of two at once so some need a second slot. */
function makeRequests(): DatasetRequest[] {
  const start = 1_680_278_400_000;
  const requests: DatasetRequest[] = [];
  for (let index = 0; index < 30; index++) {
    const time = start + Math.floor(index / 2) * 200;
    requests.push({
      startTime: time,
      metaKey: index % 3 === 0 ? 'beta' : 'alpha',
      durationsInMs: 10 + (index % 4) * 5,
      statusCode: index === 7 ? 500 : 200,
    });
  }
  return requests;
}

async function writeDataset(folder: string, requests: DatasetRequest[]): Promise<void> {
  await writeFile(join(folder, 'metas.jsonl'), METAS.map((meta) => JSON.stringify(meta)).join('\n') + '\n');
  await writeFile(join(folder, 'requests.jsonl'), requests.map((request) => JSON.stringify(request)).join('\n') + '\n');
}

function options(dataset: string, extra: Partial<SimulateOptions> = {}): SimulateOptions {
  return {
    dataset,
    speed: 50,
    platformPort: 50051,
    policy: 'fixed-keepalive:2s',
    createDurationMs: 20,
    progress: false,
    ...extra,
  };
}

function expectCleanRun(result: SimulationResult, requests: number): void {
  const { replay, score, platform } = result;
  expect(replay.violations.total, JSON.stringify(replay.violations.examples)).to.equal(0);
  expect(replay.failures.total, JSON.stringify(replay.failures.examples)).to.equal(0);
  expect(replay.partial).to.equal(false);
  expect(replay.served).to.equal(requests);
  expect(score.overall.served).to.equal(requests);
  expect(score.overall.coldStarts).to.be.at.least(2);
  expect(platform.slotsCreated).to.be.at.least(2);
  // Every slot was destroyed by the scaler's shutdown; until then each was charged up to the end.
  expect(platform.slotsAliveAtExit).to.equal(0);
  expect(score.overall.totalSlotTimeInGBs).to.be.greaterThan(score.overall.invocationExecutionTimeInGBs);
}

/** A port that was free a moment ago, for a server whose port must be known before it starts. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port bound');
  return address.port;
}

describe('simulate', () => {
  let folder: string;

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'simulate-test-'));
    await writeDataset(folder, makeRequests());
  });

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('scores the in-process scaler over gRPC', async () => {
    const result = await runSimulation(options(folder), { logger: silentLogger });

    expectCleanRun(result, 30);
    expect(result.scaler).to.equal('in-process');
    expect(result.policy).to.equal('fixed-keepalive:2s');
    expect(result.score.apps.map((app) => app.appKey)).to.have.members(['alpha', 'beta']);
    expect(result.score.overall.score).to.be.within(0, 100);
  });

  it('scores an external scaler over gRPC', async () => {
    const platformPort = await freePort();
    const platformClient = new GrpcPlatformClient({ address: `127.0.0.1:${platformPort}` });
    // The external scaler keeps its own real clock, as a separate process would.
    const scaler = createActorScaler({
      platform: platformClient,
      policy: createPolicy('fixed-keepalive:1s'),
      clock: realClock,
      logger: silentLogger,
    });
    const server = await startScalerServer({ scaler, host: '127.0.0.1', port: 0, logger: silentLogger });
    try {
      const result = await runSimulation(options(folder, { scaler: server.address, platformPort }), {
        logger: silentLogger,
      });

      expect(result.replay.violations.total, JSON.stringify(result.replay.violations.examples)).to.equal(0);
      expect(result.replay.failures.total, JSON.stringify(result.replay.failures.examples)).to.equal(0);
      expect(result.replay.served).to.equal(30);
      expect(result.scaler).to.equal(server.address);
      expect(result.policy).to.equal(undefined);
    } finally {
      // The simulation stopped the platform: close the client first so the
      // scaler's DestroySlot calls fail at once instead of waiting to reconnect.
      platformClient.close();
      await scaler.shutdown();
      await server.stop();
    }
  });

  it('returns a partial result when stopped', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await runSimulation(options(folder), { logger: silentLogger, signal: controller.signal });

    expect(result.partial).to.equal(true);
    expect(result.replay.arrived).to.equal(0);
    expect(result.platform.slotsAliveAtExit).to.equal(0);
  });

  it('rejects --keep-alive with another policy', async () => {
    let error: unknown;
    await runSimulation(options(folder, { policy: 'reference', keepAliveMs: 1000 }), { logger: silentLogger }).catch(
      (caught: unknown) => (error = caught),
    );

    expect(String(error)).to.match(/--keep-alive applies only to --policy fixed-keepalive, got --policy reference/);
  });
});

describe('simulate command', () => {
  let folder: string;
  let stdout: string;
  let stderr: string;

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'simulate-command-'));
    stdout = '';
    stderr = '';
  });

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  async function runCommand(args: string[]): Promise<number | undefined> {
    const program = new Command().exitOverride();
    registerSimulate(program, {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text), isTTY: false },
    });
    await program.parseAsync(['node', 'scaler', 'simulate', ...args]);
    const code = process.exitCode;
    process.exitCode = undefined;
    return typeof code === 'number' ? code : undefined;
  }

  it('prints the table and writes the JSON', async () => {
    await writeDataset(folder, makeRequests());
    const out = join(folder, 'result.json');
    const code = await runCommand(['--dataset', folder, '--speed', '50', '--quiet', '--create-duration', '20', '--out', out]);

    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/^Score \d+\.\d\d {2}\(resource usage/);
    expect(stdout).to.match(/\nalpha +30|\n(alpha|beta) +\d+/);
    const saved = JSON.parse(await readFile(out, 'utf8')) as SimulationResult;
    expect(saved.replay.served).to.equal(30);
    expect(saved.score.overall.score).to.be.closeTo(Number(/^Score (\d+\.\d\d)/.exec(stdout)![1]), 0.005);
  });

  it('exits 2 on a missing dataset', async () => {
    const code = await runCommand(['--dataset', join(folder, 'nope'), '--quiet']);

    expect(code).to.equal(2);
    expect(stderr).to.match(/^simulate: dataset ".*nope" not found/);
    expect(stdout).to.equal('');
  });

  const builtInOnlyCases: Array<[args: string[], pattern: RegExp]> = [
    [['--policy', 'adaptive:2'], /^simulate: --policy applies only to the built-in scaler, but --scaler 127\.0\.0\.1:9 scores an external one; drop --policy or drop --scaler\n$/],
    [['--keep-alive', '10m'], /^simulate: --keep-alive applies only to the built-in scaler/],
    [['--inspect', '0'], /^simulate: --inspect applies only to the built-in scaler/],
    [['--policy', 'reference', '--inspect', '0'], /^simulate: --policy, --inspect apply only to the built-in scaler, .*; drop them or drop --scaler\n$/],
  ];
  for (const [args, pattern] of builtInOnlyCases) {
    it(`rejects ${args.filter((arg) => arg.startsWith('--')).join(' and ')} with --scaler`, async () => {
      await writeDataset(folder, makeRequests());
      // The command rejects these options before it connects, so no server needs to listen on port 9.
      const code = await runCommand(['--dataset', folder, '--quiet', '--scaler', '127.0.0.1:9', ...args, '--out', join(folder, 'result.json')]);

      expect(code).to.equal(2);
      expect(stderr).to.match(pattern);
      expect(stdout).to.equal('');
    });
  }

  it('exits 2 on a malformed line', async () => {
    await writeDataset(folder, makeRequests());
    await writeFile(join(folder, 'requests.jsonl'), '{"startTime": 1, "metaKey": "alpha", "durationsInMs": "x", "statusCode": 200}\n');
    const code = await runCommand(['--dataset', folder, '--quiet', '--out', join(folder, 'result.json')]);

    expect(code).to.equal(2);
    expect(stderr).to.match(/requests\.jsonl:1: field "durationsInMs"/);
  });
});
