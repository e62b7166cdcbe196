/** Entry points for the CLI: the `charts` command and the live inspector behind `--inspect`. */
export { registerCharts, renderCharts, writeCharts, DEFAULT_CHARTS_DIR } from './charts.ts';
export { attachInspector, DEFAULT_INSPECT_HOST, DEFAULT_INSPECT_PORT, type Inspector, type InspectorOptions } from './server.ts';
