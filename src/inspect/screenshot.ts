/**
 * Takes a PNG screenshot of a page with headless Chromium, driven over the
 * DevTools protocol on a pipe. Chromium's own `--screenshot` flag does not
 * suit the live page: it shoots before the event stream delivers anything,
 * and `--virtual-time-budget` waits until the stream closes.
 *
 *   npx tsx src/inspect/screenshot.ts URL OUT.png [--wait 2500] [--click SELECTOR] [--size 1400x900]
 *
 * Needs a `chromium` binary on the PATH (Debian package `chromium`).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--hide-scrollbars',
  '--remote-debugging-pipe',
];

interface Pending {
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

/** A DevTools protocol session over Chromium's pipe: NUL-terminated JSON messages on fds 3 (in) and 4 (out). */
class DevToolsPipe {
  readonly #input: Writable;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #buffer = '';

  constructor(input: Writable, output: Readable) {
    this.#input = input;
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => this.#receive(chunk));
  }

  send(method: string, params: object = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\0')) >= 0) {
      const message = JSON.parse(this.#buffer.slice(0, end)) as { id?: number; result?: Record<string, unknown>; error?: unknown };
      this.#buffer = this.#buffer.slice(end + 1);
      const pending = message.id === undefined ? undefined : this.#pending.get(message.id);
      if (!pending) continue;
      this.#pending.delete(message.id!);
      if (message.error) pending.reject(new Error(`DevTools call failed: ${JSON.stringify(message.error)}`));
      else pending.resolve(message.result ?? {});
    }
  }
}

export interface ScreenshotOptions {
  width: number;
  height: number;
  /** Time to let the page load and receive updates before the shot, ms. */
  waitMs: number;
  /** CSS selector of an element to click before the shot, such as a slot. */
  click?: string;
}

/** Opens `url` in headless Chromium and writes a PNG of the viewport to `out`. */
export async function screenshot(url: string, out: string, options: ScreenshotOptions): Promise<void> {
  const profile = await mkdtemp(join(tmpdir(), 'inspector-shot-'));
  const chromium = spawn('chromium', [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => chromium.once('exit', () => resolve()));
  try {
    const failedToStart = new Promise<never>((_, reject) => chromium.once('error', (error) => reject(new Error(`could not start chromium: ${error.message}`))));
    const devTools = new DevToolsPipe(chromium.stdio[3] as Writable, chromium.stdio[4] as Readable);
    const call = (method: string, params?: object, sessionId?: string) => Promise.race([devTools.send(method, params, sessionId), failedToStart]);
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

    const { targetId } = await call('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = (await call('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    await call('Emulation.setDeviceMetricsOverride', { width: options.width, height: options.height, deviceScaleFactor: 1, mobile: false }, sessionId);
    await call('Page.navigate', { url }, sessionId);
    await sleep(options.waitMs);
    if (options.click) {
      const expression = `(() => { const element = document.querySelector(${JSON.stringify(options.click)}); if (!element) return false; element.click(); return true; })()`;
      const { result } = (await call('Runtime.evaluate', { expression, returnByValue: true }, sessionId)) as { result: { value?: unknown } };
      if (result.value !== true) throw new Error(`nothing on the page matches --click ${options.click}`);
      // Lets the click's request for the actor's details come back.
      await sleep(800);
    }
    const { data } = (await call('Page.captureScreenshot', { format: 'png' }, sessionId)) as { data: string };
    await writeFile(out, Buffer.from(data, 'base64'));
    await call('Browser.close').catch(() => undefined);
  } finally {
    chromium.kill();
    await exited;
    await rm(profile, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      wait: { type: 'string', default: '2500' },
      click: { type: 'string' },
      size: { type: 'string', default: '1400x900' },
    },
  });
  const [url, out] = positionals;
  if (!url || !out) throw new Error('usage: screenshot.ts URL OUT.png [--wait ms] [--click selector] [--size WIDTHxHEIGHT]');
  const size = /^(\d+)x(\d+)$/.exec(values.size);
  if (!size) throw new Error(`--size must be WIDTHxHEIGHT in pixels, such as 1400x900, got ${values.size}`);
  const waitMs = Number(values.wait);
  if (!(waitMs >= 0)) throw new Error(`--wait must be a non-negative number of ms, got ${values.wait}`);
  await screenshot(url, out, { width: Number(size[1]), height: Number(size[2]), waitMs, click: values.click });
  process.stdout.write(`${out}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`screenshot failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
