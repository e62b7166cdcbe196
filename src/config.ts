/**
 * Configuration of `scaler serve`, from command-line flags and environment
 * variables. A flag wins over its environment variable, which wins over the
 * default; an empty environment variable counts as unset.
 */
import { parseDurationMs } from './policy/duration.ts';
import { DEFAULT_POLICY, POLICY_NAMES, createPolicy } from './policy/index.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface HostPort {
  host: string;
  port: number;
}

export interface ServeConfig {
  /** Address the Scaler service listens on. */
  host: string;
  port: number;
  /** `host:port` of the Platform service. */
  platformAddress: string;
  /** Deadline of CreateSlot and DestroySlot calls, ms. */
  platformTimeoutMs: number;
  /** Deadline of Init calls, ms. */
  initTimeoutMs: number;
  logLevel: LogLevel;
  /** Policy as `createPolicy` takes it, such as `reference` or `fixed-keepalive:60000ms`. */
  policy: string;
  /** Shut down once this address stops accepting connections. */
  exitWhenClosed?: HostPort;
  /** Port of the live state-chart inspector on 127.0.0.1; unset, no inspector. */
  inspectPort?: number;
}

/** Commander's names for the flags of `serve`. */
export type ServeFlagName =
  | 'host'
  | 'port'
  | 'platform'
  | 'platformTimeout'
  | 'initTimeout'
  | 'logLevel'
  | 'policy'
  | 'keepAlive'
  | 'exitWhenClosed'
  | 'inspect';

export type ServeFlags = Partial<Record<ServeFlagName, string>>;

export interface ServeSetting {
  name: ServeFlagName;
  /** Flag as commander declares it. */
  flag: string;
  env: string;
  /** Default as the user would write it; undefined when the setting is off by default. */
  defaultValue?: string;
  description: string;
}

/** Every setting of `serve`, in help order. The defaults here are the documented ones. */
export const SERVE_SETTINGS: readonly ServeSetting[] = [
  {
    name: 'host',
    flag: '--host <address>',
    env: 'SCALER_HOST',
    defaultValue: '0.0.0.0',
    description: 'address the Scaler service listens on',
  },
  {
    name: 'port',
    flag: '--port <port>',
    env: 'SCALER_PORT',
    defaultValue: '9001',
    description: 'port the Scaler service listens on; 0 picks a free port',
  },
  {
    name: 'platform',
    flag: '--platform <host:port>',
    env: 'SCALER_PLATFORM',
    defaultValue: '127.0.0.1:50051',
    description: 'address of the Platform service',
  },
  {
    name: 'platformTimeout',
    flag: '--platform-timeout <duration>',
    env: 'SCALER_PLATFORM_TIMEOUT',
    defaultValue: '5s',
    description: 'deadline of CreateSlot and DestroySlot calls',
  },
  {
    name: 'initTimeout',
    flag: '--init-timeout <duration>',
    env: 'SCALER_INIT_TIMEOUT',
    defaultValue: '60s',
    description: 'deadline of Init calls, which last as long as the application takes to initialize',
  },
  {
    name: 'logLevel',
    flag: '--log-level <level>',
    env: 'LOG_LEVEL',
    defaultValue: 'info',
    description: `log level, one of ${LOG_LEVELS.join(', ')}`,
  },
  {
    name: 'policy',
    flag: '--policy <name[:argument]>',
    env: 'SCALER_POLICY',
    defaultValue: DEFAULT_POLICY,
    description: `scaling policy, one of ${POLICY_NAMES.join(', ')}; fixed-keepalive:DURATION sets its keep-alive`,
  },
  {
    name: 'keepAlive',
    flag: '--keep-alive <duration>',
    env: 'SCALER_KEEP_ALIVE',
    description: "keep-alive of the fixed-keepalive policy, as fixed-keepalive:DURATION sets it; unset, the policy's default applies",
  },
  {
    name: 'exitWhenClosed',
    flag: '--exit-when-closed <host:port>',
    env: 'SCALER_EXIT_WHEN_CLOSED',
    description: 'shut down once this address, after accepting connections, stops accepting them',
  },
  {
    name: 'inspect',
    flag: '--inspect <port>',
    env: 'SCALER_INSPECT',
    description: 'serve the live state-chart inspector on 127.0.0.1 at this port (0 picks a free port); off when unset',
  },
];

/** Help line for durations, shared by every duration flag. */
export const DURATION_HELP = 'Durations are a number with a unit (500ms, 5s, 2m, 1h); a bare number is milliseconds.';

/** A setting with an invalid value; `scaler serve` prints the message and exits with code 2. */
export class ConfigError extends Error {
  readonly source: string;
  readonly value: string;

  constructor(source: string, value: string, expected: string, message?: string) {
    super(message ?? `invalid value ${JSON.stringify(value)} for ${source}; expected ${expected}`);
    this.name = 'ConfigError';
    this.source = source;
    this.value = value;
  }
}

/**
 * Resolves the configuration of `serve` from flags, then `env`, then the
 * defaults. Throws `ConfigError` naming the flag or environment variable that
 * carried an invalid value.
 */
export function resolveServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv): ServeConfig {
  const read = (name: ServeFlagName): RawValue => {
    const raw = readSetting(name, flags, env);
    if (!raw) throw new Error(`setting ${name} has no default`);
    return raw;
  };

  const host = read('host');
  const port = read('port');
  const platform = read('platform');
  const platformTimeout = read('platformTimeout');
  const initTimeout = read('initTimeout');
  const logLevel = read('logLevel');
  const policy = read('policy');
  const keepAlive = readSetting('keepAlive', flags, env);
  const exitWhenClosed = readSetting('exitWhenClosed', flags, env);
  const inspect = readSetting('inspect', flags, env);

  const config: ServeConfig = {
    host: parseHost(host),
    port: parsePort(port, 0),
    platformAddress: formatHostPort(parseHostPort(platform)),
    platformTimeoutMs: parseDuration(platformTimeout, { allowZero: false }),
    initTimeoutMs: parseDuration(initTimeout, { allowZero: false }),
    logLevel: parseChoice(logLevel, LOG_LEVELS),
    policy: resolvePolicy(policy, keepAlive),
  };
  if (exitWhenClosed) config.exitWhenClosed = parseHostPort(exitWhenClosed);
  if (inspect) config.inspectPort = parsePort(inspect, 0);
  return config;
}

/** A raw setting value and where it came from, for error messages. */
interface RawValue {
  value: string;
  source: string;
}

function readSetting(name: ServeFlagName, flags: ServeFlags, env: NodeJS.ProcessEnv): RawValue | undefined {
  const setting = SERVE_SETTINGS.find((candidate) => candidate.name === name);
  if (!setting) throw new Error(`no setting named ${name}`);
  const flagName = setting.flag.split(' ')[0]!;
  const fromFlag = flags[name];
  if (fromFlag !== undefined) return { value: fromFlag, source: flagName };
  const fromEnv = env[setting.env];
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: `environment variable ${setting.env}` };
  if (setting.defaultValue !== undefined) return { value: setting.defaultValue, source: `the default of ${flagName}` };
  return undefined;
}

function parseHost({ value, source }: RawValue): string {
  if (!/^[^\s/]+$/.test(value)) throw new ConfigError(source, value, 'a host name or IP address, such as 0.0.0.0');
  return value;
}

function parsePort({ value, source }: RawValue, min: number): number {
  const port = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= min && port <= 65_535)) {
    throw new ConfigError(source, value, `a port number from ${min} to 65535`);
  }
  return port;
}

function parseHostPort(raw: RawValue): HostPort {
  const { value, source } = raw;
  // An IPv6 host is written in brackets, as in [::1]:50051.
  const match = /^(?:\[([^\]]+)\]|([^\s:/[\]]+)):(\d+)$/.exec(value);
  if (!match) throw new ConfigError(source, value, 'host:port, such as 127.0.0.1:50051');
  const host = match[1] ?? match[2]!;
  const port = Number(match[3]);
  if (!(port >= 1 && port <= 65_535)) throw new ConfigError(source, value, 'host:port with a port from 1 to 65535');
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function parseDuration({ value, source }: RawValue, { allowZero }: { allowZero: boolean }): number {
  let ms: number;
  try {
    ms = parseDurationMs(value, source);
  } catch {
    ms = Number.NaN;
  }
  if (!Number.isSafeInteger(ms) || (!allowZero && ms === 0)) {
    const kind = allowZero ? 'a duration' : 'a positive duration';
    throw new ConfigError(source, value, `${kind} such as 500ms, 5s or 2m (a bare number is milliseconds)`);
  }
  return ms;
}

/**
 * Returns the policy spec, with `--keep-alive` folded into a bare
 * `fixed-keepalive`, after checking that `createPolicy` accepts it.
 */
function resolvePolicy(policy: RawValue, keepAlive: RawValue | undefined): string {
  let spec = policy.value;
  if (keepAlive) {
    // A keep-alive with no policy given selects the fixed keep-alive, whatever the default policy is.
    if (policy.source.startsWith('the default')) spec = 'fixed-keepalive';
    if (spec !== 'fixed-keepalive') {
      throw new ConfigError(
        keepAlive.source,
        keepAlive.value,
        'a bare fixed-keepalive policy',
        `${keepAlive.source} applies only to a bare fixed-keepalive policy, but the policy is ${JSON.stringify(spec)}`,
      );
    }
    spec = `fixed-keepalive:${parseDuration(keepAlive, { allowZero: true })}ms`;
  }
  try {
    createPolicy(spec);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const message = `invalid value ${JSON.stringify(spec)} for ${policy.source}: ${reason}`;
    throw new ConfigError(policy.source, policy.value, `one of ${POLICY_NAMES.join(', ')}`, message);
  }
  return spec;
}

function parseChoice<T extends string>({ value, source }: RawValue, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) throw new ConfigError(source, value, `one of ${choices.join(', ')}`);
  return value as T;
}
