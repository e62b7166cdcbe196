import { expect } from 'chai';
import { ConfigError, resolveServeConfig, type ServeFlags } from '../../src/config.ts';

function configError(flags: ServeFlags, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    resolveServeConfig(flags, env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  expect.fail('the configuration resolved; expected a ConfigError');
}

describe('serve configuration', () => {
  it('uses the documented defaults', () => {
    expect(resolveServeConfig({}, {})).to.deep.equal({
      host: '0.0.0.0',
      port: 9001,
      platformAddress: '127.0.0.1:50051',
      platformTimeoutMs: 5_000,
      initTimeoutMs: 60_000,
      logLevel: 'info',
      policy: 'adaptive',
    });
  });

  it('reads environment variables', () => {
    const config = resolveServeConfig(
      {},
      {
        SCALER_HOST: '127.0.0.1',
        SCALER_PORT: '0',
        SCALER_PLATFORM: '[::1]:50052',
        SCALER_PLATFORM_TIMEOUT: '1500ms',
        SCALER_INIT_TIMEOUT: '2m',
        LOG_LEVEL: 'debug',
        SCALER_KEEP_ALIVE: '300s',
        SCALER_EXIT_WHEN_CLOSED: '127.0.0.1:9000',
      },
    );

    expect(config).to.deep.equal({
      host: '127.0.0.1',
      port: 0,
      platformAddress: '[::1]:50052',
      platformTimeoutMs: 1_500,
      initTimeoutMs: 120_000,
      logLevel: 'debug',
      policy: 'fixed-keepalive:300000ms',
      exitWhenClosed: { host: '127.0.0.1', port: 9000 },
    });
  });

  it('prefers flags over environment', () => {
    const config = resolveServeConfig({ port: '9100', keepAlive: '0' }, { SCALER_PORT: '9200', SCALER_KEEP_ALIVE: '10s' });

    expect(config.port).to.equal(9100);
    expect(config.policy).to.equal('fixed-keepalive:0ms');
  });

  it('takes keep-alive alone as fixed keep-alive', () => {
    expect(resolveServeConfig({ keepAlive: '30s' }, {}).policy).to.equal('fixed-keepalive:30000ms');
  });

  it('accepts a policy with its argument', () => {
    expect(resolveServeConfig({ policy: 'fixed-keepalive:20m' }, {}).policy).to.equal('fixed-keepalive:20m');
    expect(resolveServeConfig({}, { SCALER_POLICY: 'reference' }).policy).to.equal('reference');
  });

  it('treats an empty variable as unset', () => {
    expect(resolveServeConfig({}, { SCALER_PORT: '' }).port).to.equal(9001);
  });

  const invalid: Array<{ label: string; flags: ServeFlags; env?: NodeJS.ProcessEnv; message: string }> = [
    {
      label: 'port flag',
      flags: { port: 'abc' },
      message: 'invalid value "abc" for --port; expected a port number from 0 to 65535',
    },
    {
      label: 'port variable',
      flags: {},
      env: { SCALER_PORT: '70000' },
      message: 'invalid value "70000" for environment variable SCALER_PORT; expected a port number from 0 to 65535',
    },
    {
      label: 'platform address',
      flags: { platform: 'localhost' },
      message: 'invalid value "localhost" for --platform; expected host:port, such as 127.0.0.1:50051',
    },
    {
      label: 'platform port 0',
      flags: { platform: '127.0.0.1:0' },
      message: 'invalid value "127.0.0.1:0" for --platform; expected host:port with a port from 1 to 65535',
    },
    {
      label: 'zero timeout',
      flags: { platformTimeout: '0' },
      message:
        'invalid value "0" for --platform-timeout; expected a positive duration such as 500ms, 5s or 2m (a bare number is milliseconds)',
    },
    {
      label: 'keep-alive unit',
      flags: { keepAlive: '5 days' },
      message:
        'invalid value "5 days" for --keep-alive; expected a duration such as 500ms, 5s or 2m (a bare number is milliseconds)',
    },
    {
      label: 'log level',
      flags: {},
      env: { LOG_LEVEL: 'verbose' },
      message:
        'invalid value "verbose" for environment variable LOG_LEVEL; expected one of fatal, error, warn, info, debug, trace, silent',
    },
    {
      label: 'policy',
      flags: { policy: 'magic' },
      message:
        'invalid value "magic" for --policy: policy "magic" not found; expected one of fixed-keepalive, reference, hybrid-histogram, adaptive',
    },
    {
      label: 'policy argument',
      flags: { policy: 'reference:5m' },
      message: 'invalid value "reference:5m" for --policy: policy reference takes no argument, got "5m"',
    },
    {
      label: 'keep-alive with another policy',
      flags: { keepAlive: '30s' },
      env: { SCALER_POLICY: 'hybrid-histogram' },
      message: '--keep-alive applies only to a bare fixed-keepalive policy, but the policy is "hybrid-histogram"',
    },
    {
      label: 'exit-when-closed',
      flags: { exitWhenClosed: '9000' },
      message: 'invalid value "9000" for --exit-when-closed; expected host:port, such as 127.0.0.1:50051',
    },
    {
      label: 'host with space',
      flags: { host: 'my host' },
      message: 'invalid value "my host" for --host; expected a host name or IP address, such as 0.0.0.0',
    },
  ];

  for (const { label, flags, env, message } of invalid) {
    it(`rejects invalid ${label}`, () => {
      expect(configError(flags, env).message).to.equal(message);
    });
  }
});
