import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { resolveServeConfig } from '../../src/config.ts';
import { startService, waitUntilClosed } from '../../src/serve.ts';
import { captureLog } from './log-capture.ts';
import { ScalerTestClient } from './scaler-client.ts';
import { TestPlatform, findUnusedPort } from './test-platform.ts';

const LAUNCHER = fileURLToPath(new URL('../../bin/scaler.js', import.meta.url));

interface Exit {
  code: number | null;
  stderr: string;
}

/** Runs the `scaler` launcher; `onStderr` receives the output so far and may signal the child. */
function runScaler(args: string[], onStderr?: (stderr: string, kill: (signal: NodeJS.Signals) => void) => void): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      onStderr?.(stderr, (signal) => child.kill(signal));
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

describe('serve', () => {
  it('serves assigns and destroys slots on stop', async () => {
    const platform = await TestPlatform.start();
    const log = captureLog();
    const config = resolveServeConfig({ host: '127.0.0.1', port: '0', platform: platform.address }, {});
    const service = await startService(config, log.logger);
    const client = new ScalerTestClient(service.address);
    try {
      const reply = await client.assign({
        request_id: 'req-1',
        timestamp: 0,
        meta_data: { key: 'app-a', runtime: 'node', timeout_in_secs: 30, memory_in_mb: 128 },
      });

      await service.stop('test finished');

      expect(reply.status).to.equal('Ok');
      expect(platform.callsOf('DestroySlot')).to.have.length(1);
      expect(platform.liveSlots.size).to.equal(0);
      const started = log.lines.find((line) => line.msg === 'scaler started');
      expect(started).to.include({ address: service.address, platform: platform.address, policy: 'adaptive' });
      expect(log.messages()).to.include('scaler stopped');
    } finally {
      client.close();
      await service.stop('test finished');
      await platform.stop();
    }
  });

  it('rejects when the port is taken', async () => {
    const platform = await TestPlatform.start();
    const first = await startService(
      resolveServeConfig({ host: '127.0.0.1', port: '0', platform: platform.address }, {}),
      captureLog().logger,
    );
    try {
      const config = resolveServeConfig({ host: '127.0.0.1', port: String(first.port), platform: platform.address }, {});
      let failure: unknown;
      await startService(config, captureLog().logger).catch((error) => {
        failure = error;
      });

      expect((failure as Error).message).to.include(`cannot listen on 127.0.0.1:${first.port}`);
    } finally {
      await first.stop('test finished');
      await platform.stop();
    }
  });
});

describe('waitUntilClosed', () => {
  it('resolves once the address closes', async () => {
    const peer = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    const { port } = peer.address() as net.AddressInfo;
    const log = captureLog();

    const outcome = waitUntilClosed({ host: '127.0.0.1', port }, { logger: log.logger, intervalMs: 10 });
    await log.waitFor('watched address accepts connections; the scaler stops once it closes');
    await new Promise<void>((resolve) => peer.close(() => resolve()));

    expect(await outcome).to.equal('closed');
  });

  it('resolves aborted when signalled', async () => {
    const abort = new AbortController();
    const log = captureLog();

    const port = await findUnusedPort();
    const outcome = waitUntilClosed({ host: '127.0.0.1', port }, { logger: log.logger, signal: abort.signal });
    await log.waitFor('waiting for the watched address to accept connections');
    abort.abort();

    expect(await outcome).to.equal('aborted');
  });
});

describe('scaler command', () => {
  it('exits 2 on an invalid flag', async () => {
    const exit = await runScaler(['serve', '--port', 'abc']);

    expect(exit.code).to.equal(2);
    expect(exit.stderr).to.include('invalid value "abc" for --port; expected a port number from 0 to 65535');
  });

  it('stops on SIGTERM and exits 0', async () => {
    const platform = await TestPlatform.start();
    try {
      let signalled = false;
      const exit = await runScaler(
        ['serve', '--host', '127.0.0.1', '--port', '0', '--platform', platform.address],
        (stderr, kill) => {
          if (!signalled && stderr.includes('"msg":"scaler started"')) {
            signalled = true;
            kill('SIGTERM');
          }
        },
      );

      expect(exit.code).to.equal(0);
      expect(exit.stderr).to.include('"reason":"SIGTERM","msg":"scaler stopped"');
    } finally {
      await platform.stop();
    }
  });
});
