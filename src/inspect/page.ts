/**
 * The inspector's single HTML page: style, script and the SVG chart of each
 * machine inlined, so it loads from the inspector alone with no other host.
 */
import { readFileSync } from 'node:fs';
import type { RenderedChart } from './charts.ts';

export interface PageMachine {
  id: string;
  svg: string;
  /** Top-level state keys, for the colour legend. */
  states: string[];
}

function readAsset(name: string): string {
  return readFileSync(new URL(`./page/${name}`, import.meta.url), 'utf8');
}

/** Returns the page with the given machines' charts inlined. */
export function buildPage(charts: readonly RenderedChart[]): string {
  const machines: PageMachine[] = charts.map(({ chart, svg }) => ({
    id: chart.id,
    // The XML prolog and doctype are not allowed inside an HTML document.
    svg: svg.slice(svg.indexOf('<svg')),
    states: chart.root.children.map((state) => state.key),
  }));
  // `<` is escaped so no chart text can close the script element early.
  const machinesJson = JSON.stringify(machines).replace(/</g, '\\u003c');
  return readAsset('index.html')
    .replace('/*STYLE*/', () => readAsset('style.css'))
    .replace('/*MACHINES*/', () => machinesJson)
    .replace('/*SCRIPT*/', () => readAsset('client.js'));
}
