import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { createActorScaler } from '../actors/scaler.ts';
import { attachInspector } from './inspect/index.ts';
import { realClock } from './clock.ts';
import {
  ConfigError,
  DURATION_HELP,
  SERVE_SETTINGS,
  formatHostPort,
  resolveServeConfig,
  type HostPort,
  type ServeConfig,
  type ServeFlags,
} from './config.ts';
import { GrpcPlatformClient } from './grpc/platform-client.ts';
import { startScalerServer } from './grpc/scaler-server.ts';
import { createLogger, type Logger } from './log.ts';
import { createPolicy } from './policy/index.ts';

/** Time the server waits for calls in flight before cancelling them at shutdown. */
const STOP_GRACE_MS = 5_000;
/**
 * Time the whole shutdown may take before the process exits with code 1. It
 * stays below Kubernetes' default termination grace period of 30 s.
 */
const SHUTDOWN_TIMEOUT_MS = 25_000;

/** Adds the `serve` command to `program`. */
export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('serve the Scaler gRPC service, scaling instances on the Platform service')
    .addHelpText('after', `\n${DURATION_HELP}\nAn empty environment variable counts as unset.`);
  for (const setting of SERVE_SETTINGS) {
    const defaultText = setting.defaultValue === undefined ? '' : `, default ${setting.defaultValue}`;
    command.option(setting.flag, `${setting.description} (env ${setting.env}${defaultText})`);
  }

  command.action(async (flags: ServeFlags) => {
    let config: ServeConfig;
    try {
      config = resolveServeConfig(flags, process.env);
    } catch (error) {
      if (error instanceof ConfigError) command.error(`error: ${error.message}`, { exitCode: 2, code: 'scaler.invalidConfig' });
      throw error;
    }
    await runServe(config);
  });
}

export interface RunningService {
  /** `host:port` the Scaler service listens on. */
  readonly address: string;
  readonly port: number;
  /** Stops taking calls, destroys every slot and closes the platform client. Repeated calls share one stop. */
  stop(reason: string): Promise<void>;
}

/**
 * Starts the scaler: the platform client, the policy, the actor tree and the
 * gRPC server. Rejects when the server cannot listen, after releasing what it
 * started.
 */
export async function startService(config: ServeConfig, logger: Logger): Promise<RunningService> {
  const platform = new GrpcPlatformClient({
    address: config.platformAddress,
    callTimeoutMs: config.platformTimeoutMs,
    initTimeoutMs: config.initTimeoutMs,
    logger,
  });
  const policy = createPolicy(config.policy);
  const inspector =
    config.inspectPort === undefined ? undefined : await attachInspector({ host: '127.0.0.1', port: config.inspectPort, logger });
  if (inspector) logger.info({ url: inspector.url }, 'inspector ready');
  const scaler = createActorScaler({ platform, policy, clock: realClock, logger, inspect: inspector?.inspect });

  let server;
  try {
    server = await startScalerServer({ scaler, host: config.host, port: config.port, logger });
  } catch (error) {
    await scaler.shutdown();
    platform.close();
    await inspector?.close();
    throw error;
  }

  logger.info(
    {
      address: server.address,
      platform: config.platformAddress,
      policy: policy.name,
      platformTimeoutMs: config.platformTimeoutMs,
      initTimeoutMs: config.initTimeoutMs,
      logLevel: config.logLevel,
      exitWhenClosed: config.exitWhenClosed && formatHostPort(config.exitWhenClosed),
    },
    'scaler started',
  );

  const runningServer = server;
  let stopping: Promise<void> | undefined;
  const stop = async (reason: string): Promise<void> => {
    logger.info({ reason }, 'scaler stopping');
    // Stop accepting first; calls in flight get their replies while the
    // scaler shuts down, which replies to any queued Assign.
    const drained = runningServer.stop(STOP_GRACE_MS);
    await scaler.shutdown();
    await drained;
    platform.close();
    // The inspector's server would keep the process alive.
    await inspector?.close();
    logger.info({ reason }, 'scaler stopped');
  };

  return {
    address: server.address,
    port: server.port,
    stop(reason) {
      stopping ??= stop(reason);
      return stopping;
    },
  };
}

/**
 * Runs `serve` until SIGTERM, SIGINT or, with `exitWhenClosed`, until that
 * address stops accepting connections, then shuts down and exits with code 0.
 */
async function runServe(config: ServeConfig): Promise<void> {
  const logger = createLogger(config.logLevel);
  const starting = startService(config, logger);
  const watchAbort = new AbortController();
  let stopRequested = false;

  // Handlers go in before the service is up, so a signal during startup
  // also stops it once it has started.
  const shutDown = (reason: string): void => {
    if (stopRequested) {
      logger.warn({ reason }, 'second stop request; exiting without waiting for shutdown');
      void exitAfterFlush(logger, 1);
      return;
    }
    stopRequested = true;
    watchAbort.abort();
    setTimeout(() => {
      logger.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting');
      void exitAfterFlush(logger, 1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    starting
      .then((service) => service.stop(reason))
      .then(
        () => exitAfterFlush(logger, 0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          return exitAfterFlush(logger, 1);
        },
      );
  };
  process.on('SIGTERM', () => shutDown('SIGTERM'));
  process.on('SIGINT', () => shutDown('SIGINT'));

  try {
    await starting;
  } catch (error) {
    // One line without a stack: the cause is the address, not the code.
    const message = error instanceof Error ? error.message : String(error);
    logger.error({ error: message }, 'scaler failed to start; check --host and --port, or stop the process that uses the port');
    await exitAfterFlush(logger, 1);
    return;
  }

  if (config.exitWhenClosed && !stopRequested) {
    const target = config.exitWhenClosed;
    const outcome = await waitUntilClosed(target, { logger, signal: watchAbort.signal });
    if (outcome === 'closed') shutDown(`${formatHostPort(target)} stopped accepting connections`);
  }
}

function exitAfterFlush(logger: Logger, code: number): Promise<void> {
  return new Promise(() => {
    logger.flush(() => process.exit(code));
  });
}

export interface WaitUntilClosedOptions {
  logger: Logger;
  signal?: AbortSignal;
  /** Time between two connection attempts, ms. */
  intervalMs?: number;
  /** Time a connection attempt may take before it counts as failed, ms. */
  connectTimeoutMs?: number;
}

/**
 * Waits until `target` accepts a TCP connection, then until it stops: two
 * failed attempts in a row count as closed, so one lost attempt does not stop
 * the scaler. Resolves 'closed', or 'aborted' when `signal` fires first. Uses
 * the real clock, as it runs only at the entry point.
 */
export async function waitUntilClosed(
  target: HostPort,
  options: WaitUntilClosedOptions,
): Promise<'closed' | 'aborted'> {
  const { logger, signal } = options;
  const intervalMs = options.intervalMs ?? 2_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 1_000;
  const address = formatHostPort(target);
  let opened = false;
  let failures = 0;

  logger.info({ watch: address }, 'waiting for the watched address to accept connections');
  while (!signal?.aborted) {
    const open = await canConnect(target, connectTimeoutMs);
    if (open && !opened) {
      opened = true;
      logger.info({ watch: address }, 'watched address accepts connections; the scaler stops once it closes');
    }
    failures = open ? 0 : failures + 1;
    if (opened && failures >= 2) return 'closed';

    try {
      await sleep(intervalMs, undefined, { signal });
    } catch {
      break;
    }
  }
  return 'aborted';
}

function canConnect(target: HostPort, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const finish = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}
