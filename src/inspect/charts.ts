/**
 * Renders the state chart of each machine to SVG with Graphviz compiled to
 * WebAssembly (`@viz-js/viz`), so neither the `charts` command nor the live
 * inspector needs a Graphviz install or the network.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { instance, type Viz } from '@viz-js/viz';
import type { Command } from 'commander';
import type { AnyStateMachine } from 'xstate';
import { appMachine } from '../../actors/app.ts';
import { scalerMachine } from '../../actors/scaler.ts';
import { slotMachine } from '../../actors/slot.ts';
import { chartToDot, describeMachine, type MachineChart } from './chart.ts';

/** The machines of the actor tree, root first; file names follow their ids. */
export const MACHINES: readonly AnyStateMachine[] = [scalerMachine, appMachine, slotMachine];

export const DEFAULT_CHARTS_DIR = 'docs/charts';

export interface RenderedChart {
  chart: MachineChart;
  dot: string;
  svg: string;
}

let vizInstance: Promise<Viz> | undefined;

/** Loads the Graphviz WebAssembly module once per process. */
function getViz(): Promise<Viz> {
  vizInstance ??= instance();
  return vizInstance;
}

/** Renders DOT to SVG; Graphviz warnings count as errors, because each one means a chart drawn wrong. */
export async function renderDotToSvg(dot: string, name: string): Promise<string> {
  const viz = await getViz();
  const result = viz.render(dot, { format: 'svg', engine: 'dot' });
  if (result.status !== 'success' || result.errors.length > 0) {
    const messages = result.errors.map((error) => `${error.level ?? 'error'}: ${error.message.trim()}`).join('; ');
    throw new Error(`Graphviz could not render the ${name} chart: ${messages || 'no output'}`);
  }
  return result.output;
}

/** Builds the chart of every machine and renders it to SVG. */
export async function renderCharts(machines: readonly AnyStateMachine[] = MACHINES): Promise<RenderedChart[]> {
  const rendered: RenderedChart[] = [];
  for (const machine of machines) {
    const chart = describeMachine(machine);
    const dot = chartToDot(chart);
    rendered.push({ chart, dot, svg: await renderDotToSvg(dot, chart.id) });
  }
  return rendered;
}

/** Writes `<machine id>.svg` for every machine into `outDir`, and `.dot` too when asked; returns the paths written. */
export async function writeCharts(outDir: string, options: { dot?: boolean } = {}): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const { chart, dot, svg } of await renderCharts()) {
    const svgPath = join(outDir, `${chart.id}.svg`);
    await writeFile(svgPath, svg);
    written.push(svgPath);
    if (options.dot) {
      const dotPath = join(outDir, `${chart.id}.dot`);
      await writeFile(dotPath, dot);
      written.push(dotPath);
    }
  }
  return written;
}

/** Registers `charts`, which writes the state chart of each machine as SVG. */
export function registerCharts(program: Command): Command {
  return program
    .command('charts')
    .description('render the state chart of each machine (scaler, app, slot) to SVG, from the machine definitions')
    .option('-o, --out <dir>', 'directory the SVG files are written to', DEFAULT_CHARTS_DIR)
    .option('--dot', 'also write the Graphviz DOT source of each chart')
    .action(async (options: { out: string; dot?: boolean }) => {
      const written = await writeCharts(options.out, { dot: options.dot });
      for (const path of written) process.stdout.write(`${path}\n`);
    });
}

// Run directly (`npx tsx src/inspect/charts.ts [--out dir] [--dot]`) until the CLI registers the command.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { Command } = await import('commander');
  const program = new Command('scaler');
  registerCharts(program);
  await program.parseAsync(['charts', ...process.argv.slice(2)], { from: 'user' });
}
