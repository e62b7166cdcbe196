/**
 * Shows the live inspector on a running scaler without a platform or a
 * dataset. A demo platform replies after short real delays while a few apps
 * send requests for a while, then the scaler shuts down.
 *
 *   npx tsx src/inspect/demo.ts [--port 4747] [--seconds 60] [--linger 10]
 */
import { parseArgs } from 'node:util';
import { createActorScaler } from '../../actors/scaler.ts';
import { realClock } from '../clock.ts';
import { createLogger } from '../log.ts';
import { FixedKeepAlivePolicy } from '../policy/fixed-keepalive.ts';
import type { AppMeta } from '../types.ts';
import { DemoPlatform, seededRandom } from './demo-platform.ts';
import { attachInspector, DEFAULT_INSPECT_PORT } from './server.ts';

interface DemoApp {
  meta: AppMeta;
  /** Mean time between requests, ms; arrivals are a Poisson process. */
  meanGapMs: number;
  /** Execution time range, ms. */
  execMs: [number, number];
}

const APPS: DemoApp[] = [
  { meta: { key: 'resize-image', runtime: 'nodejs20', timeoutInSecs: 10, memoryInMb: 256 }, meanGapMs: 60, execMs: [50, 400] },
  { meta: { key: 'render-report', runtime: 'python3.10', timeoutInSecs: 20, memoryInMb: 1024 }, meanGapMs: 900, execMs: [1_000, 3_000] },
  { meta: { key: 'send-mail', runtime: 'go1.x', timeoutInSecs: 5, memoryInMb: 128 }, meanGapMs: 400, execMs: [20, 120] },
];

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`--${name} must be a non-negative number, got ${text}`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: String(DEFAULT_INSPECT_PORT) },
      host: { type: 'string', default: '127.0.0.1' },
      seconds: { type: 'string', default: '60' },
      linger: { type: 'string', default: '10' },
      seed: { type: 'string', default: '7' },
    },
  });
  const port = positive('port', values.port);
  const runMs = positive('seconds', values.seconds) * 1000;
  const lingerMs = positive('linger', values.linger) * 1000;
  const random = seededRandom(positive('seed', values.seed));
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');

  const inspector = await attachInspector({ host: values.host, port, logger });
  process.stdout.write(`inspector: ${inspector.url}\n`);
  const scaler = createActorScaler({
    platform: new DemoPlatform({ clock: realClock, random }),
    policy: new FixedKeepAlivePolicy({ keepAliveMs: 2_000 }),
    clock: realClock,
    logger,
    inspect: inspector.inspect,
  });

  let sequence = 0;
  let stopping = false;
  const outcomes = { ok: 0, failed: 0 };
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  const sendRequest = async (app: DemoApp): Promise<void> => {
    const requestId = `demo-${++sequence}`;
    const assigned = await scaler.assign({ requestId, timestamp: Date.now(), meta: app.meta });
    if (assigned.status !== 'Ok') {
      outcomes.failed++;
      return;
    }
    const [min, max] = app.execMs;
    const durationMs = min + (max - min) * random();
    await sleep(durationMs);
    await scaler.idle({
      requestId,
      metaKey: app.meta.key,
      instanceId: assigned.instanceId,
      statusCode: 200,
      durationMs,
      needDestroy: false,
    });
    outcomes.ok++;
  };

  const drive = async (app: DemoApp): Promise<void> => {
    const inFlight: Promise<void>[] = [];
    while (!stopping) {
      await sleep(-Math.log(1 - random()) * app.meanGapMs);
      if (stopping) break;
      const request = sendRequest(app);
      inFlight.push(request);
      void request.finally(() => inFlight.splice(inFlight.indexOf(request), 1));
    }
    await Promise.all(inFlight);
  };

  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  const timer = setTimeout(stop, runMs);
  await Promise.all(APPS.map(drive));
  clearTimeout(timer);
  process.stdout.write(`requests served: ${outcomes.ok}, failed: ${outcomes.failed}; shutting down the scaler\n`);
  await scaler.shutdown();
  process.stdout.write(`scaler stopped; the inspector stays up for ${lingerMs / 1000} s\n`);
  await sleep(lingerMs);
  await inspector.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
