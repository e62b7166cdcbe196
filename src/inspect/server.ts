/**
 * The live inspector: an HTTP server on loopback that serves one page and a
 * Server-Sent Events stream of the actor table. The inspect callback only
 * updates the table. A timer sends what changed at most once per flush
 * interval, so a scaler that handles thousands of events per second sends a
 * few messages per second.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InspectionEvent } from 'xstate';
import type { Logger } from '../log.ts';
import { renderCharts } from './charts.ts';
import { buildPage } from './page.ts';
import { ActorTable, type ActorRow, type ActorTableOptions, type TransitionRecord } from './table.ts';

export const DEFAULT_INSPECT_HOST = '127.0.0.1';
export const DEFAULT_INSPECT_PORT = 4747;
export const DEFAULT_FLUSH_INTERVAL_MS = 150;
/** A comment line this often keeps idle SSE connections open through proxies. */
const HEARTBEAT_INTERVAL_MS = 15_000;

export interface InspectorOptions {
  /** Interface to listen on; anything but loopback exposes the scaler's internals without authentication. */
  host?: string;
  /** TCP port; 0 picks a free one. */
  port?: number;
  logger: Logger;
  /** Maximum time between an actor's change and the update that carries it, ms. */
  flushIntervalMs?: number;
  /** Clock for transition times; wall time by default. */
  now?: () => number;
  table?: Omit<ActorTableOptions, 'now'>;
}

export interface Inspector {
  /** Callback to pass as `inspect` to `createActorScaler`. It catches and counts its own errors, so it never throws into the scaler. */
  inspect: (event: InspectionEvent) => void;
  /** Address of the page, such as `http://127.0.0.1:4747/`. */
  url: string;
  close(): Promise<void>;
}

/** A transition with its trigger named as the chart names it (`after keepAlive` rather than xstate's event type). */
export interface TransitionView extends TransitionRecord {
  trigger: string;
}

export interface ActorSummary {
  sessionId: string;
  id: string;
  parentSessionId?: string;
  machine: string;
  state: string;
  status: ActorRow['status'];
  events: number;
  transitionCount: number;
  last?: TransitionView;
}

export interface ActorDetail extends Omit<ActorSummary, 'last'> {
  transitions: TransitionView[];
  startedAt: number;
  updatedAt: number;
  endedAt?: number;
}

export interface InspectorStats {
  actors: number;
  eventsSeen: number;
  eventsPerSecond: number;
  /** Inspection events the inspector failed to apply. */
  failures: number;
}

/** One message on the event stream: the whole table, or the rows changed and removed since the last one. */
export type InspectorMessage =
  | { kind: 'full'; actors: ActorSummary[]; stats: InspectorStats }
  | { kind: 'delta'; actors: ActorSummary[]; removed: string[]; stats: InspectorStats };

interface Client {
  response: ServerResponse;
  /** Set while the socket buffer is full; the client gets the whole table once it drains. */
  blocked: boolean;
  needsFull: boolean;
}

/** Starts the inspector's server and returns the callback to hand to the scaler. */
export async function attachInspector(options: InspectorOptions): Promise<Inspector> {
  const host = options.host ?? DEFAULT_INSPECT_HOST;
  const port = options.port ?? DEFAULT_INSPECT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`inspector port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
  if (!(flushIntervalMs > 0)) throw new RangeError(`flushIntervalMs must be positive, got ${String(flushIntervalMs)}`);
  const now = options.now ?? Date.now;
  const { logger } = options;

  const charts = await renderCharts();
  const page = buildPage(charts);
  const svgs = new Map(charts.map(({ chart, svg }) => [chart.id, svg]));
  const triggers = new Map(charts.map(({ chart }) => [chart.id, chart.triggers]));
  const table = new ActorTable({ ...options.table, now });
  const clients = new Set<Client>();
  let failures = 0;
  let closed = false;

  const describeTransition = (machine: string, record: TransitionRecord): TransitionView => ({
    ...record,
    trigger: triggers.get(machine)?.get(record.event) ?? record.event,
  });
  const summarize = (row: ActorRow): ActorSummary => {
    const last = row.transitions[row.transitions.length - 1];
    return {
      sessionId: row.sessionId,
      id: row.id,
      parentSessionId: row.parentSessionId,
      machine: row.machine,
      state: row.state,
      status: row.status,
      events: row.events,
      transitionCount: row.transitionCount,
      last: last ? describeTransition(row.machine, last) : undefined,
    };
  };
  const detail = (row: ActorRow): ActorDetail => {
    const { last: _last, ...summary } = summarize(row);
    return {
      ...summary,
      transitions: row.transitions.map((record) => describeTransition(row.machine, record)),
      startedAt: row.startedAt,
      updatedAt: row.updatedAt,
      endedAt: row.endedAt,
    };
  };

  let lastRateAt = now();
  let lastRateEvents = 0;
  let eventsPerSecond = 0;
  const stats = (): InspectorStats => ({ actors: table.size, eventsSeen: table.eventsSeen, eventsPerSecond, failures });
  const fullMessage = (): InspectorMessage => ({ kind: 'full', actors: [...table.rows()].map(summarize), stats: stats() });

  const inspect = (event: InspectionEvent): void => {
    if (closed) return;
    try {
      table.apply(event);
    } catch (error) {
      failures++;
      // Logged once: the warm path would repeat the same failure thousands of times a second.
      if (failures === 1) {
        logger.error({ err: error, eventType: event.type }, 'inspector failed to apply an inspection event; the scaler is unaffected, further failures are only counted');
      }
    }
  };

  const send = (client: Client, message: InspectorMessage): void => {
    if (client.response.writableEnded || client.response.destroyed) {
      clients.delete(client);
      return;
    }
    const ok = client.response.write(`data: ${JSON.stringify(message)}\n\n`);
    if (!ok) {
      client.blocked = true;
      client.needsFull = true;
      client.response.once('drain', () => {
        client.blocked = false;
      });
    }
  };

  const flush = (): void => {
    const current = now();
    if (current > lastRateAt) {
      eventsPerSecond = ((table.eventsSeen - lastRateEvents) * 1000) / (current - lastRateAt);
      lastRateAt = current;
      lastRateEvents = table.eventsSeen;
    }
    table.prune();
    // Changes are taken even when no page is connected, so the set of changed rows stays bounded.
    const changes = table.takeChanges();
    if (clients.size === 0) return;
    let delta: InspectorMessage | undefined;
    let full: InspectorMessage | undefined;
    for (const client of clients) {
      if (client.blocked) continue;
      if (client.needsFull) {
        full ??= fullMessage();
        client.needsFull = false;
        send(client, full);
        continue;
      }
      if (changes.changed.length === 0 && changes.removed.length === 0) continue;
      delta ??= { kind: 'delta', actors: changes.changed.map(summarize), removed: changes.removed, stats: stats() };
      send(client, delta);
    }
  };
  const flushTimer = setInterval(() => {
    try {
      flush();
    } catch (error) {
      logger.error({ err: error }, 'inspector failed to send an update');
    }
  }, flushIntervalMs);
  flushTimer.unref();
  const heartbeatTimer = setInterval(() => {
    for (const client of clients) if (!client.blocked) client.response.write(': keep-alive\n\n');
  }, HEARTBEAT_INTERVAL_MS);
  heartbeatTimer.unref();

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const url = new URL(request.url ?? '/', 'http://inspector.invalid');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      reply(response, 405, 'text/plain; charset=utf-8', `method ${request.method} not allowed; the inspector serves GET only\n`, { Allow: 'GET, HEAD' });
      return;
    }
    if (url.pathname === '/') {
      reply(response, 200, 'text/html; charset=utf-8', page);
      return;
    }
    if (url.pathname === '/events') {
      response.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache',
        Connection: 'keep-alive',
      });
      const client: Client = { response, blocked: false, needsFull: false };
      clients.add(client);
      response.on('close', () => clients.delete(client));
      response.write('retry: 2000\n\n');
      send(client, fullMessage());
      return;
    }
    if (url.pathname === '/state') {
      reply(response, 200, 'application/json', JSON.stringify(fullMessage()));
      return;
    }
    const actorMatch = /^\/actors\/([^/]+)$/.exec(url.pathname);
    if (actorMatch) {
      const sessionId = decodeURIComponent(actorMatch[1]!);
      const row = table.get(sessionId);
      if (!row) {
        reply(response, 404, 'application/json', JSON.stringify({ error: `actor with session id ${sessionId} not found; it may have ended and been dropped` }));
        return;
      }
      reply(response, 200, 'application/json', JSON.stringify(detail(row)));
      return;
    }
    const chartMatch = /^\/charts\/([^/]+)\.svg$/.exec(url.pathname);
    const svg = chartMatch ? svgs.get(chartMatch[1]!) : undefined;
    if (svg) {
      reply(response, 200, 'image/svg+xml', svg);
      return;
    }
    reply(response, 404, 'text/plain; charset=utf-8', `${url.pathname} not found; the inspector serves /, /events, /state, /actors/<session id> and /charts/<machine>.svg\n`);
  };

  const server = createServer((request, response) => {
    try {
      handle(request, response);
    } catch (error) {
      logger.error({ err: error, url: request.url }, 'inspector request failed');
      if (!response.headersSent) reply(response, 500, 'text/plain; charset=utf-8', 'inspector request failed; see the scaler log\n');
      else response.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      clearInterval(flushTimer);
      clearInterval(heartbeatTimer);
      reject(new Error(`inspector could not listen on ${host}:${port}: ${error.message}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: error }, 'inspector server error'));

  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/`;
  if (!isLoopback(address.address)) {
    logger.warn({ url }, 'inspector listens beyond loopback; anyone who reaches it sees the scaler internals');
  }
  logger.info({ url }, 'inspector listening');

  return {
    inspect,
    url,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(flushTimer);
      clearInterval(heartbeatTimer);
      for (const client of clients) client.response.end();
      clients.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      logger.info({ url }, 'inspector stopped');
    },
  };
}

function reply(response: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address === '::ffff:127.0.0.1';
}
