import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { and, not, setup } from 'xstate';
import { chartStates, chartToDot, describeMachine, stateElementId } from '../../src/inspect/chart.ts';
import { DEFAULT_CHARTS_DIR, MACHINES, renderCharts, renderDotToSvg, type RenderedChart } from '../../src/inspect/charts.ts';

describe('state charts', () => {
  let rendered: RenderedChart[];

  before(async () => {
    rendered = await renderCharts();
  });

  it('renders one chart per machine', () => {
    expect(rendered.map(({ chart }) => chart.id)).to.deep.equal(['scaler', 'app', 'slot']);
    expect(MACHINES).to.have.length(3);
  });

  it('shows every state of each machine', () => {
    for (const { chart, svg } of rendered) {
      const states = chartStates(chart);
      expect(states.length, chart.id).to.be.greaterThan(2);
      for (const state of states) {
        expect(svg, `${chart.id} state ${state.id} as text`).to.include(`>${state.key}</text>`);
        expect(svg, `${chart.id} state ${state.id} as element id`).to.include(`id="${stateElementId(state.id)}"`);
      }
    }
  });

  it('matches the committed SVG files', async () => {
    for (const { chart, svg } of rendered) {
      const committed = await readFile(`${DEFAULT_CHARTS_DIR}/${chart.id}.svg`, 'utf8');
      expect(committed === svg, `${DEFAULT_CHARTS_DIR}/${chart.id}.svg is stale; run the charts command`).to.equal(true);
    }
  });

  it('labels slot transitions by trigger, guard and actions', () => {
    const slot = rendered.find(({ chart }) => chart.id === 'slot')!;
    const edges = slot.chart.edges.map((edge) => `${edge.from} -> ${edge.to}: ${edge.trigger} [${edge.guard ?? ''}] / ${edge.actions.join(',')}`);

    expect(edges).to.include('slot.idle -> slot.destroying: slot.expire [] / markExpired');
    expect(edges).to.include('slot.creating -> slot.retryingCreate: platform.createFailed [canRetry] / recordFailure,logRetry');
    expect(edges).to.include('slot.initing -> slot.idle: platform.initialized [] / reportReady');
    expect(edges).to.include('slot.failed -> slot.destroyed: always [] / ');
    expect(edges).to.include('slot.destroying.waiting -> slot.destroying.calling: after retryBackoff [] / ');
    expect(slot.dot).to.include('lhead="cluster_slot.destroying"');
    expect(slot.chart.root.handlers.map((handler) => handler.trigger)).to.deep.equal(['slot.assign']);
  });

  it('names run-time event types as the chart does', () => {
    const slot = rendered.find(({ chart }) => chart.id === 'slot')!.chart;
    expect(slot.triggers.get('xstate.after.retryBackoff.slot.retryingCreate')).to.equal('after retryBackoff');
    expect(slot.triggers.get('platform.destroyed')).to.equal('platform.destroyed');
    expect(slot.triggers.get('slot.release')).to.equal('slot.release');
  });

  it('draws combined guards, fixed delays and root transitions', async () => {
    const machine = setup({
      guards: { ready: () => true, blocked: () => false },
    }).createMachine({
      id: 'sample',
      initial: 'waiting',
      on: { reset: { target: '.waiting' } },
      states: {
        waiting: {
          after: { 500: 'working' },
          on: { go: { guard: and(['ready', not('blocked')]), target: 'working' } },
        },
        working: {
          initial: 'step',
          states: { step: { on: { finish: 'end' } }, end: { type: 'final' } },
          onDone: 'finished',
        },
        finished: { type: 'final' },
      },
    });
    const chart = describeMachine(machine);
    const edges = chart.edges.map((edge) => `${edge.from} -> ${edge.to}: ${edge.trigger} [${edge.guard ?? ''}]`);

    expect(edges).to.include('sample.waiting -> sample.working: after 500 ms []');
    expect(edges).to.include('sample.waiting -> sample.working: go [(ready && !blocked)]');
    expect(edges).to.include('sample.working -> sample.finished: sample.working: done []');
    expect(edges).to.include('sample -> sample.waiting: reset []');
    const svg = await renderDotToSvg(chartToDot(chart), chart.id);
    expect(svg).to.include('(ready &amp;&amp; !blocked)');
  });

  it('reports Graphviz errors with the chart name', async () => {
    let error: unknown;
    try {
      await renderDotToSvg('digraph { a -> }', 'broken');
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.match(/broken chart/);
  });
});
