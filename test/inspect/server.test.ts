import { get, request as httpRequest, type IncomingMessage } from 'node:http';
import { expect } from 'chai';
import type { InspectionEvent } from 'xstate';
import { silentLogger } from '../../src/log.ts';
import { attachInspector, type ActorDetail, type Inspector, type InspectorMessage } from '../../src/inspect/server.ts';
import { recordSlotLifecycle, type RecordedEvent } from './recorded-run.ts';

function fetchText(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body }));
    }).on('error', reject);
  });
}

/** Opens the event stream and resolves with its messages once `done` accepts them, then closes it. */
function readMessages(url: string, done: (messages: InspectorMessage[]) => boolean, onOpen?: () => void): Promise<{ response: IncomingMessage; messages: InspectorMessage[] }> {
  return new Promise((resolve, reject) => {
    const request = get(url, (response) => {
      const messages: InspectorMessage[] = [];
      let buffer = '';
      response.setEncoding('utf8');
      onOpen?.();
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n');
          if (data) messages.push(JSON.parse(data) as InspectorMessage);
          if (done(messages)) {
            request.destroy();
            resolve({ response, messages });
            return;
          }
        }
      });
    });
    request.on('error', (error) => {
      if (!request.destroyed) reject(error);
    });
  });
}

describe('inspector server', () => {
  let recorded: RecordedEvent[];
  let inspector: Inspector;

  before(async () => {
    recorded = await recordSlotLifecycle();
  });

  beforeEach(async () => {
    inspector = await attachInspector({ host: '127.0.0.1', port: 0, logger: silentLogger, flushIntervalMs: 20 });
  });

  afterEach(async () => {
    await inspector.close();
  });

  it('listens on an ephemeral loopback port', () => {
    expect(inspector.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(inspector.url).to.not.match(/:0\/$/);
  });

  it('serves the page with the charts inlined', async () => {
    const page = await fetchText(inspector.url);

    expect(page.status).to.equal(200);
    expect(page.type).to.match(/^text\/html/);
    expect(page.body).to.include('<title>Scaler inspector</title>');
    expect(page.body).to.include('id=\\"state:slot.idle\\"');
    expect(page.body).to.include('new EventSource(');
    expect(page.body).to.not.match(/<script[^>]+src=|<link[^>]+href=/);
  });

  it('streams the actor table, then what changed', async () => {
    for (const { event } of recorded.slice(0, 10)) inspector.inspect(event);

    const slotIn = (message: InspectorMessage) => message.actors.find((actor) => actor.machine === 'slot');
    const { response, messages } = await readMessages(
      `${inspector.url}events`,
      (received) => received.some((message) => slotIn(message)?.state === 'destroyed'),
      () => {
        for (const { event } of recorded.slice(10)) inspector.inspect(event);
      },
    );

    expect(response.headers['content-type']).to.match(/^text\/event-stream/);
    const [first, ...rest] = messages;
    expect(first!.kind).to.equal('full');
    expect(first!.actors.map((actor) => actor.machine)).to.include.members(['scaler', 'app']);
    expect(rest.map((message) => message.kind)).to.deep.equal(rest.map(() => 'delta'));
    const slot = slotIn(rest[rest.length - 1]!);
    expect(slot?.state).to.equal('destroyed');
    expect(slot?.last?.trigger).to.equal('platform.destroyed');
  });

  it('serves one actor with its transitions', async () => {
    for (const { event } of recorded) inspector.inspect(event);
    const state = JSON.parse((await fetchText(`${inspector.url}state`)).body) as InspectorMessage;
    const slot = state.actors.find((actor) => actor.machine === 'slot')!;

    const response = await fetchText(`${inspector.url}actors/${encodeURIComponent(slot.sessionId)}`);
    const detail = JSON.parse(response.body) as ActorDetail;

    expect(response.status).to.equal(200);
    expect(detail.id).to.equal('instance-1');
    expect(detail.transitions.map((t) => t.trigger)).to.deep.equal([
      'xstate.init',
      'platform.created',
      'platform.initialized',
      'slot.assign',
      'slot.release',
      'slot.expire',
      'platform.destroyed',
    ]);
  });

  it('answers unknown actors and paths with 404', async () => {
    const actor = await fetchText(`${inspector.url}actors/x%3A999`);
    expect(actor.status).to.equal(404);
    expect(actor.body).to.match(/x:999 not found/);
    const path = await fetchText(`${inspector.url}nowhere`);
    expect(path.status).to.equal(404);
  });

  it('rejects methods other than GET', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(inspector.url, { method: 'POST' }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });
    expect(status).to.equal(405);
  });

  it('counts a failing event instead of throwing', async () => {
    const registered = recorded.find(({ event }) => event.type === '@xstate.actor')!.event;
    inspector.inspect(registered);
    const broken = { type: '@xstate.snapshot', actorRef: registered.actorRef, event: { type: 'x' }, snapshot: null } as unknown as InspectionEvent;

    expect(() => inspector.inspect(broken)).to.not.throw();
    const state = JSON.parse((await fetchText(`${inspector.url}state`)).body) as InspectorMessage;
    expect(state.stats.failures).to.equal(1);
  });

  it('rejects an invalid port', async () => {
    let error: unknown;
    try {
      await attachInspector({ port: 70_000, logger: silentLogger });
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).message).to.match(/port must be an integer from 0 to 65535, got 70000/);
  });
});
