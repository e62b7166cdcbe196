/**
 * The `simulate` command: replays a dataset against a scaler on the simulated
 * platform and prints the contest's score.
 *
 * Both the in-process scaler and an external one are reached through the
 * contract's gRPC services on loopback, so Assign and Idle times include the
 * wire in both cases: replayer -> Scaler service -> scaler -> Platform
 * service -> simulated platform.
 */
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { SingleBar } from 'cli-progress';
import type { InspectionEvent } from 'xstate';
import { createActorScaler } from '../../actors/scaler.ts';
import { attachInspector } from '../inspect/index.ts';
import { ScaledClock, type Clock } from '../clock.ts';
import { readMetas, readRequests, resolveDataset } from '../data/dataset.ts';
import { GrpcPlatformClient } from '../grpc/platform-client.ts';
import { GrpcScalerClient } from '../grpc/scaler-client.ts';
import { startScalerServer } from '../grpc/scaler-server.ts';
import { createLogger, type Logger } from '../log.ts';
import { parseDurationMs } from '../policy/duration.ts';
import { createPolicy, DEFAULT_POLICY, POLICY_NAMES } from '../policy/index.ts';
import type { Policy } from '../policy/types.ts';
import type { ScalerApi } from '../types.ts';
import { SimPlatform } from './platform.ts';
import { startPlatformServer } from './platform-server.ts';
import { replay, type ReplayProgress, type ReplayResult } from './replay.ts';
import { formatReport } from './report.ts';
import { ScoreAccumulator, type ScoreSummary } from './score.ts';

const LOOPBACK = '127.0.0.1';
/** How long a scaler may take to accept a connection, ms of real time. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface SimulateOptions {
  /** Dataset folder, or 'default' for the embedded one. */
  dataset: string;
  /** Dataset ms per real ms. */
  speed: number;
  /** `host:port` of an external scaler; unset runs the actor scaler in-process. */
  scaler?: string;
  /** Port of the Platform service an external scaler calls; the in-process scaler uses a free port. */
  platformPort: number;
  /** Policy of the in-process scaler, as `createPolicy` takes it (`reference`, `fixed-keepalive:20m`). */
  policy: string;
  /** Keep-alive of the fixed-keepalive policy, ms; only with that policy given without an argument. */
  keepAliveMs?: number;
  /** JSON result path; default results/<dataset>-<policy or "external">.json. */
  out?: string;
  seed?: number;
  createDurationMs?: number;
  createFailureRate?: number;
  initFailureRate?: number;
  jitterRatio?: number;
  /** Progress bar on stderr; the caller turns it off when stderr is not a terminal. */
  progress: boolean;
  /** Port of the live state-chart inspector of the in-process scaler on 127.0.0.1; unset, none. */
  inspectPort?: number;
}

export interface SimulationResult {
  dataset: { name: string; metasPath: string; requestsPath: string };
  /** 'in-process' or the external scaler's address. */
  scaler: string;
  policy?: string;
  options: {
    speed: number;
    seed?: number;
    createDurationMs?: number;
    createFailureRate?: number;
    initFailureRate?: number;
    jitterRatio?: number;
  };
  partial: boolean;
  score: ScoreSummary;
  replay: ReplayResult;
  platform: { slotsCreated: number; peakSlots: number; slotsAliveAtExit: number };
  /** Real time the replay took, ms. */
  wallTimeMs: number;
}

/** An error in the command's input (an option, the dataset); the command prints its message and exits with 2. */
export class SimulateInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulateInputError';
  }
}

/**
 * Runs one simulation: starts the platform and the scaler on loopback,
 * replays the dataset, shuts the scaler down and returns the score. When
 * `signal` fires, the replay stops and the result is marked partial.
 */
export async function runSimulation(
  options: SimulateOptions,
  context: { logger: Logger; signal?: AbortSignal },
): Promise<SimulationResult> {
  const { logger } = context;
  // Options first, so a bad one fails before anything starts.
  const policy = options.scaler === undefined ? policyFor(options) : undefined;
  const dataset = resolveDatasetOrThrow(options.dataset);
  const metas = await readMetas(dataset.metasPath);
  const total = options.progress ? await countLines(dataset.requestsPath) : 0;

  const clock = new ScaledClock(options.speed);
  const platform = new SimPlatform({
    clock,
    metas,
    logger: logger.child({ component: 'platform' }),
    ...definedOnly({
      seed: options.seed,
      createDurationMs: options.createDurationMs,
      createFailureRate: options.createFailureRate,
      initFailureRate: options.initFailureRate,
      jitterRatio: options.jitterRatio,
    }),
  });
  const stack = new Shutdown(logger);
  try {
    const platformServer = await startPlatformServer({
      platform,
      host: LOOPBACK,
      port: options.scaler === undefined ? 0 : options.platformPort,
      logger: logger.child({ component: 'platform-server' }),
    });
    stack.push('platform server', () => platformServer.stop());

    const scaler = await connectScaler(options, policy, { clock, logger, platformPort: platformServer.port, stack });

    const timeoutsInSecs = new Map([...metas.values()].map((meta) => [meta.key, meta.timeoutInSecs]));
    const score = new ScoreAccumulator({ timeoutsInSecs });
    const bar = options.progress ? startProgressBar(total) : undefined;
    const started = performance.now();
    let result: ReplayResult;
    try {
      result = await replay({
        requests: readRequests(dataset.requestsPath, metas),
        metas,
        scaler: scaler.api,
        platform,
        clock,
        score,
        signal: context.signal,
        logger,
        ...(bar ? { onProgress: (progress: ReplayProgress) => updateProgressBar(bar, progress) } : {}),
      });
    } finally {
      bar?.stop();
    }
    const wallTimeMs = performance.now() - started;

    // Slots are charged only up to the end of the replay, so the shutdown's
    // time does not count. It only confirms that no slot is left behind.
    await stack.run();
    return {
      dataset,
      scaler: options.scaler ?? 'in-process',
      ...(options.scaler === undefined ? { policy: scaler.policyName } : {}),
      options: {
        speed: options.speed,
        ...definedOnly({
          seed: options.seed,
          createDurationMs: options.createDurationMs,
          createFailureRate: options.createFailureRate,
          initFailureRate: options.initFailureRate,
          jitterRatio: options.jitterRatio,
        }),
      },
      partial: result.partial,
      score: score.finish({ slots: platform.slotRecords(), endMs: result.endMs, peakSlots: platform.peakSlots }),
      replay: result,
      platform: {
        slotsCreated: platform.slotRecords().length,
        peakSlots: platform.peakSlots,
        slotsAliveAtExit: platform.liveSlots,
      },
      wallTimeMs,
    };
  } finally {
    await stack.run();
  }
}

interface ConnectedScaler {
  api: ScalerApi;
  policyName?: string;
}

/**
 * Starts the actor scaler behind a loopback Scaler service and connects to
 * it, or connects to the external scaler; either way through a gRPC client.
 */
async function connectScaler(
  options: SimulateOptions,
  policy: Policy | undefined,
  context: { clock: Clock; logger: Logger; platformPort: number; stack: Shutdown },
): Promise<ConnectedScaler> {
  const { logger, stack } = context;
  if (policy === undefined) {
    const address = options.scaler!;
    const client = new GrpcScalerClient({ address });
    stack.push('scaler client', () => client.close());
    await client.waitForReady(CONNECT_TIMEOUT_MS);
    logger.info({ scaler: address, platformPort: context.platformPort }, 'external scaler connected');
    return { api: client };
  }

  const platformClient = new GrpcPlatformClient({
    address: `${LOOPBACK}:${context.platformPort}`,
    logger: logger.child({ component: 'platform-client' }),
  });
  stack.push('platform client', () => platformClient.close());
  let inspect: ((event: InspectionEvent) => void) | undefined;
  if (options.inspectPort !== undefined) {
    const inspector = await attachInspector({ host: LOOPBACK, port: options.inspectPort, logger, now: () => context.clock.now() });
    stack.push('inspector', () => inspector.close());
    // Written to stderr whatever the log level, because the user asked for the page.
    process.stderr.write(`simulate: inspector at ${inspector.url}\n`);
    inspect = inspector.inspect;
  }
  const actorScaler = createActorScaler({ platform: platformClient, policy, clock: context.clock, logger, inspect });
  const server = await startScalerServer({
    scaler: actorScaler,
    host: LOOPBACK,
    port: 0,
    logger: logger.child({ component: 'scaler-server' }),
  });
  stack.push('scaler server', () => server.stop());
  // Teardown runs last pushed first. The client closes, then the scaler
  // destroys every slot while the platform is still up, then the servers stop.
  stack.push('actor scaler', () => actorScaler.shutdown());
  const client = new GrpcScalerClient({ address: server.address });
  stack.push('scaler client', () => client.close());
  // Connect before the first arrival, so the connection time is not charged to it.
  await client.waitForReady(CONNECT_TIMEOUT_MS);
  return { api: client, policyName: policy.name };
}

/** Creates the in-process scaler's policy; `--keep-alive` is shorthand for `fixed-keepalive:DURATION`. */
export function policyFor(options: Pick<SimulateOptions, 'policy' | 'keepAliveMs'>): Policy {
  if (options.keepAliveMs === undefined) return createPolicy(options.policy);
  if (options.policy !== 'fixed-keepalive') {
    throw new SimulateInputError(
      `--keep-alive applies only to --policy fixed-keepalive, got --policy ${options.policy}; ` +
        'drop --keep-alive or give the duration as fixed-keepalive:DURATION',
    );
  }
  return createPolicy(`fixed-keepalive:${options.keepAliveMs}ms`);
}

function resolveDatasetOrThrow(pathOrName: string) {
  try {
    return resolveDataset(pathOrName);
  } catch (error) {
    throw new SimulateInputError(error instanceof Error ? error.message : String(error));
  }
}

/** Counts the non-empty lines of a file without holding it, for the progress bar's total. */
async function countLines(path: string): Promise<number> {
  let lines = 0;
  let lineHasContent = false;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (const byte of chunk) {
      if (byte === 0x0a) {
        if (lineHasContent) lines++;
        lineHasContent = false;
      } else if (byte !== 0x0d && byte !== 0x20 && byte !== 0x09) {
        lineHasContent = true;
      }
    }
  }
  return lineHasContent ? lines + 1 : lines;
}

function startProgressBar(total: number): SingleBar {
  const bar = new SingleBar({
    stream: process.stderr,
    format: 'replay {bar} {percentage}% | {value}/{total} requests | {failed} failed | {violations} violations | {dataset} of dataset time',
    hideCursor: true,
    clearOnComplete: false,
  });
  bar.start(total, 0, { failed: 0, violations: 0, dataset: '0 s' });
  return bar;
}

function updateProgressBar(bar: SingleBar, progress: ReplayProgress): void {
  bar.update(progress.served + progress.failed, {
    failed: progress.failed,
    violations: progress.violations,
    dataset: formatDuration(progress.elapsedMs),
  });
}

function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * Teardown steps run once, last pushed first. Each step's error is logged and
 * the next step still runs, so a failed stop never leaves a server bound.
 */
class Shutdown {
  readonly #steps: Array<{ name: string; run: () => unknown }> = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  push(name: string, run: () => unknown): void {
    this.#steps.push({ name, run });
  }

  async run(): Promise<void> {
    for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
      try {
        await step.run();
      } catch (error) {
        this.#logger.error({ err: error, step: step.name }, 'shutdown step failed');
      }
    }
  }
}

function definedOnly<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

// --- Command line ---------------------------------------------------------

function parseNumber(name: string, check: (value: number) => boolean, expected: string) {
  return (raw: string): number => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || !check(value)) {
      throw new InvalidArgumentError(`${name} must be ${expected}, got ${JSON.stringify(raw)}.`);
    }
    return value;
  };
}

const positive = (name: string) => parseNumber(name, (value) => value > 0, 'a positive number');
const nonNegative = (name: string) => parseNumber(name, (value) => value >= 0, 'a non-negative number');
const rate = (name: string) => parseNumber(name, (value) => value >= 0 && value <= 1, 'a number from 0 to 1');
const port = (name: string) =>
  parseNumber(name, (value) => Number.isInteger(value) && value >= 1 && value <= 65_535, 'an integer from 1 to 65535');
const portOrZero = (name: string) =>
  parseNumber(name, (value) => Number.isInteger(value) && value >= 0 && value <= 65_535, 'an integer from 0 to 65535');

function duration(name: string) {
  return (raw: string): number => {
    try {
      return parseDurationMs(raw, name);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
    }
  };
}

function hostPort(raw: string): string {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(raw);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65_535) {
    throw new InvalidArgumentError(`--scaler must be host:port, such as 127.0.0.1:9001, got ${JSON.stringify(raw)}.`);
  }
  return raw;
}

interface CommandOptions {
  dataset: string;
  speed: number;
  scaler?: string;
  platformPort: number;
  policy?: string;
  keepAlive?: number;
  out?: string;
  seed?: number;
  createDuration?: number;
  createFailureRate?: number;
  initFailureRate?: number;
  jitter?: number;
  quiet?: boolean;
  inspect?: number;
}

/** Output streams of the command: the score table goes to stdout, messages and the progress bar to stderr. */
export interface CommandOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

/** Adds the `simulate` command to a commander program. */
export function registerSimulate(program: Command, output: CommandOutput = process): void {
  program
    .command('simulate')
    .description('replay a dataset against a scaler on the simulated platform and print the contest score')
    .option('--dataset <path|default>', 'dataset folder with metas and requests files, or "default" for the embedded one', 'default')
    .option(
      '--speed <x>',
      'dataset ms per real ms; times are measured on the dataset clock, and an external scaler\'s own timers are not sped up',
      positive('--speed'),
      1,
    )
    .option('--scaler <host:port>', 'score an external scaler over gRPC instead of the built-in one (not with --policy, --keep-alive or --inspect)', hostPort)
    .option('--platform-port <port>', 'port of the Platform service on 127.0.0.1 that an external scaler calls', port('--platform-port'), 50051)
    .option(
      '--policy <name[:argument]>',
      `policy of the built-in scaler: ${POLICY_NAMES.join(', ')}; fixed-keepalive takes a duration (fixed-keepalive:5m), adaptive a cold-start weight (adaptive:2) (default: ${DEFAULT_POLICY})`,
    )
    .option(
      '--keep-alive <duration>',
      'run the fixed-keepalive policy with this keep-alive, such as 500ms, 60s, 10m (a bare number is ms)',
      duration('--keep-alive'),
    )
    .option('--out <file>', 'JSON result file (default: results/<dataset>-<policy>.json, with -x<speed> before .json when --speed is not 1)')
    .option('--seed <n>', 'seed of the platform\'s injected faults and jitter', parseNumber('--seed', Number.isInteger, 'an integer'))
    .option('--create-duration <ms>', 'time a CreateSlot takes on the platform, ms', nonNegative('--create-duration'))
    .option('--create-failure-rate <p>', 'probability that a CreateSlot fails', rate('--create-failure-rate'))
    .option('--init-failure-rate <p>', 'probability that an Init fails', rate('--init-failure-rate'))
    .option('--jitter <ratio>', 'platform waits vary uniformly by up to this ratio (0 to 1)', rate('--jitter'))
    .option('--quiet', 'no progress bar')
    .option('--inspect <port>', 'serve the live state-chart inspector of the in-process scaler on 127.0.0.1 at this port (0 picks a free port)', portOrZero('--inspect'))
    .action(async (raw: CommandOptions) => {
      process.exitCode = await simulateCommand(raw, output);
    });
}

/** Runs the command and returns its exit code: 0 done, 130 stopped by Ctrl-C, 2 bad input or failure. */
async function simulateCommand(raw: CommandOptions, output: CommandOutput): Promise<number> {
  const { stdout, stderr } = output;
  // Quiet by default so log lines do not break the progress bar; LOG_LEVEL overrides.
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const options: SimulateOptions = {
    dataset: raw.dataset,
    speed: raw.speed,
    platformPort: raw.platformPort,
    // --keep-alive alone selects the fixed keep-alive, whatever the default policy is.
    policy: raw.policy ?? (raw.keepAlive === undefined ? DEFAULT_POLICY : 'fixed-keepalive'),
    progress: !raw.quiet && stderr.isTTY === true,
    ...definedOnly({
      scaler: raw.scaler,
      keepAliveMs: raw.keepAlive,
      out: raw.out,
      seed: raw.seed,
      createDurationMs: raw.createDuration,
      createFailureRate: raw.createFailureRate,
      initFailureRate: raw.initFailureRate,
      jitterRatio: raw.jitter,
      inspectPort: raw.inspect,
    }),
  };

  // Like --keep-alive with another policy, a built-in scaler option next to --scaler is rejected, not ignored.
  const builtInOnly = builtInScalerOptions(raw);
  if (options.scaler !== undefined && builtInOnly.length > 0) {
    const [first] = builtInOnly;
    stderr.write(
      `simulate: ${builtInOnly.join(', ')} ${builtInOnly.length === 1 ? 'applies' : 'apply'} only to the built-in scaler, ` +
        `but --scaler ${options.scaler} scores an external one; drop ${builtInOnly.length === 1 ? first : 'them'} or drop --scaler\n`,
    );
    return 2;
  }
  if (options.scaler !== undefined && options.speed !== 1) {
    stderr.write(
      `simulate: warning: --speed ${options.speed} does not speed up the external scaler's own timers ` +
        '(its keep-alive runs in real time); score an external scaler at --speed 1\n',
    );
  }

  const controller = new AbortController();
  const onInterrupt = (): void => {
    if (controller.signal.aborted) {
      stderr.write('simulate: interrupted again, exiting without cleanup\n');
      process.exit(130);
    }
    stderr.write('\nsimulate: stopping; press Ctrl-C again to exit at once\n');
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  try {
    const result = await runSimulation(options, { logger, signal: controller.signal });
    const label = result.policy ?? result.scaler;
    stdout.write(
      formatReport({
        datasetName: result.dataset.name,
        scalerLabel: options.scaler === undefined ? `${label} (in-process)` : label,
        speed: options.speed,
        score: result.score,
        replay: result.replay,
        slotsAliveAtExit: result.platform.slotsAliveAtExit,
      }),
    );
    // A sped-up run gets its own file, so it does not overwrite a run at real speed.
    const speedSuffix = options.speed === 1 ? '' : `-x${options.speed}`;
    const out =
      options.out ??
      `results/${fileSafe(result.dataset.name)}-${fileSafe(options.scaler === undefined ? label : 'external')}${fileSafe(speedSuffix)}.json`;
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, JSON.stringify(result, null, 2) + '\n');
    stderr.write(`simulate: result written to ${out}\n`);
    return result.partial ? 130 : 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    stderr.write(`simulate: ${message}\n`);
    logger.debug({ err: error }, 'simulate failed');
    return 2;
  } finally {
    process.off('SIGINT', onInterrupt);
    logger.flush();
  }
}

/** Lists the given options that configure only the in-process scaler. */
function builtInScalerOptions(raw: CommandOptions): string[] {
  const builtInOptions: string[] = [];
  // Values are left out: --keep-alive is parsed to ms by now, not what was typed, and --policy may be empty.
  if (raw.policy !== undefined) builtInOptions.push('--policy');
  if (raw.keepAlive !== undefined) builtInOptions.push('--keep-alive');
  if (raw.inspect !== undefined) builtInOptions.push('--inspect');
  return builtInOptions;
}

function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_');
}
