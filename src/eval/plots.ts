/**
 * Plots as inline SVG strings, for a report that loads nothing from outside:
 * a labelled scatter plot, a small line chart and a dot plot. Each function
 * returns one `<svg>` element with its axes, axis titles and legend. Text is
 * escaped here, so callers pass plain strings.
 */

/** Okabe and Ito's colour-blind-safe palette, without its yellow, which is too pale on white. */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#D55E00', '#56B4E9', '#000000'] as const;

export type MarkerShape = 'circle' | 'square' | 'triangle' | 'diamond' | 'cross' | 'star';
export const MARKERS: readonly MarkerShape[] = ['circle', 'square', 'triangle', 'diamond', 'cross'];

const FONT_SIZE = 12;
/** Average advance of a character of the sans-serif font at FONT_SIZE, px; enough to keep labels apart. */
const CHAR_WIDTH = 6.6;
const AXIS_COLOR = '#444';
const GRID_COLOR = '#e4e4e4';

interface Margin {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function round(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}

function textWidth(text: string, fontSize = FONT_SIZE): number {
  return text.length * CHAR_WIDTH * (fontSize / FONT_SIZE);
}

// ---------------------------------------------------------------------------
// Scales and ticks

type Scale = (value: number) => number;

function linearScale([d0, d1]: [number, number], [r0, r1]: [number, number]): Scale {
  const span = d1 - d0 || 1;
  return (value) => r0 + ((value - d0) / span) * (r1 - r0);
}

function logScale([d0, d1]: [number, number], [r0, r1]: [number, number]): Scale {
  const l0 = Math.log10(d0);
  const span = Math.log10(d1) - l0 || 1;
  return (value) => r0 + ((Math.log10(value) - l0) / span) * (r1 - r0);
}

/** Returns about `count` round tick values (1, 2 or 5 times a power of ten apart) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const rough = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  // The smallest round step that gives at most count + 1 intervals.
  const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => (max - min) / candidate <= count + 1) ?? 10 * power;
  const ticks: number[] = [];
  for (let tick = Math.ceil(min / step) * step; tick <= max + step * 1e-9; tick += step) {
    // Stepping adds float error; rounding to the step's decimals removes it.
    ticks.push(Number(tick.toFixed(Math.max(0, -Math.floor(Math.log10(step))))));
  }
  return ticks;
}

/** Rounds a range out to nice ticks, so the axis ends on a tick. */
function niceDomain(min: number, max: number, count = 5): [number, number] {
  if (!(max > min)) return [min, min + 1];
  const ticks = niceTicks(min, max, count);
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : max - min;
  return [Math.floor(min / step) * step, Math.ceil(max / step) * step];
}

/** Returns the powers of ten in [min, max], and 2 and 5 times them when fewer than four powers fit. */
function logTicks(min: number, max: number): number[] {
  const low = Math.floor(Math.log10(min));
  const high = Math.ceil(Math.log10(max));
  const factors = high - low < 4 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let exponent = low; exponent <= high; exponent++) {
    for (const factor of factors) {
      const tick = factor * 10 ** exponent;
      if (tick >= min * (1 - 1e-9) && tick <= max * (1 + 1e-9)) ticks.push(tick);
    }
  }
  return ticks;
}

/** Formats a tick label in few characters: 950, 1.5k, 20k, 1.2M. */
export function formatCompact(value: number): string {
  const abs = Math.abs(value);
  const trim = (text: string) => text.replace(/\.0+$/, '').replace(/(\.\d*?)0+$/, '$1');
  if (abs >= 1e9) return `${trim((value / 1e9).toFixed(1))}G`;
  if (abs >= 1e6) return `${trim((value / 1e6).toFixed(1))}M`;
  if (abs >= 1e3) return `${trim((value / 1e3).toFixed(1))}k`;
  if (abs === 0 || abs >= 1) return trim(value.toFixed(1));
  return trim(value.toPrecision(2));
}

// ---------------------------------------------------------------------------
// Shared pieces

function svgOpen(width: number, height: number, title: string): string {
  return (
    `<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" font-family="sans-serif" font-size="${FONT_SIZE}">` +
    `<title>${escapeXml(title)}</title>`
  );
}

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${round(x)}" y="${round(y)}"${attributes ? ` ${attributes}` : ''}>${escapeXml(content)}</text>`;
}

function titleText(width: number, title: string): string {
  return text(width / 2, 16, title, 'text-anchor="middle" font-weight="bold" font-size="13"');
}

/** Draws a marker of `shape` centred on (x, y), `size` px across. */
export function marker(shape: MarkerShape, x: number, y: number, color: string, size = 9): string {
  const r = size / 2;
  const stroke = `stroke="${color}" stroke-width="1.5"`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${round(x)}" cy="${round(y)}" r="${round(r)}" fill="${color}" fill-opacity="0.85"/>`;
    case 'square':
      return `<rect x="${round(x - r)}" y="${round(y - r)}" width="${round(size)}" height="${round(size)}" fill="${color}" fill-opacity="0.85"/>`;
    case 'triangle':
      return `<path d="M${round(x)},${round(y - r * 1.15)}L${round(x + r * 1.15)},${round(y + r)}L${round(x - r * 1.15)},${round(y + r)}Z" fill="${color}" fill-opacity="0.85"/>`;
    case 'diamond':
      return `<path d="M${round(x)},${round(y - r * 1.3)}L${round(x + r * 1.3)},${round(y)}L${round(x)},${round(y + r * 1.3)}L${round(x - r * 1.3)},${round(y)}Z" fill="${color}" fill-opacity="0.85"/>`;
    case 'cross':
      return `<path d="M${round(x - r)},${round(y - r)}L${round(x + r)},${round(y + r)}M${round(x - r)},${round(y + r)}L${round(x + r)},${round(y - r)}" ${stroke} stroke-width="2.5" fill="none"/>`;
    case 'star': {
      const points: string[] = [];
      for (let i = 0; i < 10; i++) {
        const radius = i % 2 === 0 ? r * 1.5 : r * 0.65;
        const angle = -Math.PI / 2 + (i * Math.PI) / 5;
        points.push(`${round(x + radius * Math.cos(angle))},${round(y + radius * Math.sin(angle))}`);
      }
      return `<polygon points="${points.join(' ')}" fill="${color}"/>`;
    }
  }
}

interface AxisOptions {
  margin: Margin;
  width: number;
  height: number;
  xTicks: number[];
  yTicks: number[];
  x: Scale;
  y: Scale;
  xFormat: (value: number) => string;
  yFormat: (value: number) => string;
  xLabel: string;
  yLabel: string;
  /** Draw vertical grid lines too. */
  xGrid?: boolean;
}

/** Grid lines, both axes with ticks, and the axis titles. */
function axes(options: AxisOptions): string {
  const { margin, width, height, x, y } = options;
  const left = margin.left;
  const right = width - margin.right;
  const top = margin.top;
  const bottom = height - margin.bottom;
  const parts: string[] = [];

  for (const tick of options.yTicks) {
    const py = y(tick);
    parts.push(`<line x1="${left}" x2="${right}" y1="${round(py)}" y2="${round(py)}" stroke="${GRID_COLOR}"/>`);
    parts.push(text(left - 6, py + 4, options.yFormat(tick), `text-anchor="end" fill="${AXIS_COLOR}"`));
  }
  for (const tick of options.xTicks) {
    const px = x(tick);
    if (options.xGrid) parts.push(`<line x1="${round(px)}" x2="${round(px)}" y1="${top}" y2="${bottom}" stroke="${GRID_COLOR}"/>`);
    parts.push(`<line x1="${round(px)}" x2="${round(px)}" y1="${bottom}" y2="${bottom + 4}" stroke="${AXIS_COLOR}"/>`);
    parts.push(text(px, bottom + 16, options.xFormat(tick), `text-anchor="middle" fill="${AXIS_COLOR}"`));
  }
  parts.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="${AXIS_COLOR}"/>`);
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="${AXIS_COLOR}"/>`);
  parts.push(text((left + right) / 2, height - 6, options.xLabel, 'text-anchor="middle"'));
  const midY = (top + bottom) / 2;
  parts.push(text(14, midY, options.yLabel, `text-anchor="middle" transform="rotate(-90 14 ${round(midY)})"`));
  return parts.join('');
}

export interface LegendItem {
  label: string;
  color: string;
  /** A marker, or a line sample when undefined. */
  marker?: MarkerShape;
  dashed?: boolean;
}

/** Legend items laid out left to right from (x, y), wrapping at `maxWidth`; returns the SVG and the height used. */
function legend(items: readonly LegendItem[], x: number, y: number, maxWidth: number): { svg: string; height: number } {
  const parts: string[] = [];
  let cx = x;
  let cy = y;
  for (const item of items) {
    const itemWidth = 22 + textWidth(item.label) + 16;
    if (cx > x && cx + itemWidth > x + maxWidth) {
      cx = x;
      cy += 18;
    }
    if (item.marker) {
      parts.push(marker(item.marker, cx + 8, cy - 4, item.color));
    } else {
      parts.push(`<line x1="${round(cx)}" x2="${round(cx + 18)}" y1="${round(cy - 4)}" y2="${round(cy - 4)}" stroke="${item.color}" stroke-width="2"${item.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
    }
    parts.push(text(cx + 22, cy, item.label));
    cx += itemWidth;
  }
  return { svg: parts.join(''), height: cy - y + 18 };
}

// ---------------------------------------------------------------------------
// Scatter plot

export interface ScatterPoint {
  label: string;
  x: number;
  y: number;
  color: string;
  marker: MarkerShape;
}

export interface ScatterOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  points: readonly ScatterPoint[];
  /** Log x axis: true, false, or 'auto' (when every x is positive and they span more than 20 times). Default 'auto'. */
  logX?: boolean | 'auto';
  yFormat?: (value: number) => string;
  /** Highest top of the y axis, such as 100 for a percentage. */
  yCap?: number;
  width?: number;
  height?: number;
}

interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function overlaps(a: Box, b: Box): boolean {
  return a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top;
}

/**
 * Places a label beside each point without covering another label or any
 * point's marker. It tries right, left, above and below, then steps further
 * out up and down. A label that ends up away from its point gets a leader line.
 */
function placeLabels(pixels: ReadonlyArray<{ point: ScatterPoint; px: number; py: number }>, frame: Box): string[] {
  const markerBoxes = pixels.map(({ px, py }) => ({ left: px - 7, right: px + 7, top: py - 7, bottom: py + 7 }));
  const placed: Box[] = [];
  const parts: string[] = [];
  const order = [...pixels].sort((a, b) => a.py - b.py || a.px - b.px);

  for (const { point, px, py } of order) {
    const width = textWidth(point.label);
    const boxAt = (left: number, baseline: number): Box => ({ left, right: left + width, top: baseline - FONT_SIZE + 1, bottom: baseline + 3 });
    const candidates: Box[] = [boxAt(px + 10, py + 4), boxAt(px - 10 - width, py + 4), boxAt(px - width / 2, py - 10), boxAt(px - width / 2, py + 19)];
    for (let step = 1; step <= 8; step++) {
      for (const dy of [-step * (FONT_SIZE + 3), step * (FONT_SIZE + 3)]) {
        candidates.push(boxAt(px + 10, py + 4 + dy), boxAt(px - 10 - width, py + 4 + dy));
      }
    }
    const inside = (box: Box) => box.left >= frame.left + 2 && box.right <= frame.right && box.top >= frame.top && box.bottom <= frame.bottom - 2;
    const free = (box: Box) => !placed.some((other) => overlaps(box, other)) && !markerBoxes.some((other) => overlaps(box, other));
    const chosen = candidates.find((box) => inside(box) && free(box)) ?? candidates.find(inside) ?? candidates[0]!;
    placed.push(chosen);

    const baseline = chosen.bottom - 3;
    const centreY = (chosen.top + chosen.bottom) / 2;
    const nearest = Math.max(chosen.left, Math.min(px, chosen.right));
    if (Math.hypot(nearest - px, centreY - py) > 18) {
      // The line ends at the label's side facing the point, or at its top or bottom edge when the point is above or below it.
      let endX = px;
      let endY = py < chosen.top ? chosen.top : chosen.bottom;
      if (px < chosen.left || px > chosen.right) {
        endX = px < chosen.left ? chosen.left - 2 : chosen.right + 2;
        endY = centreY;
      }
      parts.push(`<line x1="${round(px)}" y1="${round(py)}" x2="${round(endX)}" y2="${round(endY)}" stroke="#999" stroke-width="0.8"/>`);
    }
    parts.push(text(chosen.left, baseline, point.label, `fill="${point.color}"`));
  }
  return parts;
}

/** Draws a scatter plot with a label beside each point, moved where it would overlap another. */
export function scatterPlot(options: ScatterOptions): string {
  const width = options.width ?? 560;
  const height = options.height ?? 380;
  const margin: Margin = { top: 30, right: 24, bottom: 44, left: 64 };
  const { points } = options;
  const xs = points.map((point) => point.x);
  const ys = points.map((point) => point.y);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const useLog = options.logX === 'auto' || options.logX === undefined ? xMin > 0 && xMax / xMin > 20 : options.logX && xMin > 0;

  const plotLeft = margin.left;
  const plotRight = width - margin.right;
  const plotTop = margin.top;
  const plotBottom = height - margin.bottom;

  let x: Scale;
  let xTicks: number[];
  if (useLog) {
    // Half a decade of room on each side keeps the extreme points off the frame.
    const domain: [number, number] = [xMin / 2, xMax * 2];
    x = logScale(domain, [plotLeft, plotRight]);
    xTicks = logTicks(domain[0], domain[1]);
  } else {
    const pad = (xMax - xMin) * 0.1 || Math.abs(xMax) * 0.1 || 1;
    const domain = niceDomain(Math.max(0, xMin - pad), xMax + pad);
    x = linearScale(domain, [plotLeft, plotRight]);
    xTicks = niceTicks(domain[0], domain[1]);
  }
  const yTop = Math.max(...ys, 0) * 1.1 || 1;
  const yDomain = niceDomain(0, options.yCap === undefined ? yTop : Math.min(options.yCap, yTop));
  const y = linearScale(yDomain, [plotBottom, plotTop]);
  const yTicks = niceTicks(yDomain[0], yDomain[1]);

  const parts = [svgOpen(width, height, options.title), titleText(width, options.title)];
  parts.push(
    axes({
      margin,
      width,
      height,
      x,
      y,
      xTicks,
      yTicks,
      xFormat: formatCompact,
      yFormat: options.yFormat ?? formatCompact,
      xLabel: useLog ? `${options.xLabel} (log scale)` : options.xLabel,
      yLabel: options.yLabel,
      xGrid: true,
    }),
  );

  const pixels = points.map((point) => ({ point, px: x(point.x), py: y(point.y) }));
  const labels = placeLabels(pixels, { left: plotLeft, right: plotRight, top: plotTop, bottom: plotBottom });
  for (const point of points) parts.push(marker(point.marker, x(point.x), y(point.y), point.color, 10));
  parts.push(...labels);
  parts.push('</svg>');
  return parts.join('');
}

// ---------------------------------------------------------------------------
// Line chart

export interface LineSeries {
  label: string;
  color: string;
  /** [x, y] pairs in x order. */
  points: ReadonlyArray<readonly [number, number]>;
  /** Shade the area under the line. */
  fill?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  /** Axis ranges; shared ranges let small multiples be compared. Default: from the data, starting at 0. */
  xMax?: number;
  yMax?: number;
  xTicks?: number[];
  width?: number;
  height?: number;
  /** Draw the legend above the plot. Default true. */
  showLegend?: boolean;
}

/** Draws a line chart of one or more series against a shared x axis starting at 0. */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 300;
  const height = options.height ?? 210;
  const showLegend = options.showLegend ?? true;
  const margin: Margin = { top: showLegend ? 46 : 30, right: 14, bottom: 40, left: 54 };

  const allX = options.series.flatMap((series) => series.points.map(([px]) => px));
  const allY = options.series.flatMap((series) => series.points.map(([, py]) => py));
  const xMax = options.xMax ?? Math.max(1, ...allX);
  const yDomain = niceDomain(0, Math.max(1, options.yMax ?? Math.max(0, ...allY)), 4);
  const x = linearScale([0, xMax], [margin.left, width - margin.right]);
  const y = linearScale(yDomain, [height - margin.bottom, margin.top]);
  const xTicks = options.xTicks ?? niceTicks(0, xMax, 4);
  const yTicks = niceTicks(yDomain[0], yDomain[1], 4);

  const parts = [svgOpen(width, height, options.title), titleText(width, options.title)];
  if (showLegend) {
    const items = options.series.map((series) => ({ label: series.label, color: series.color }));
    parts.push(legend(items, margin.left, 34, width - margin.left).svg);
  }
  parts.push(axes({ margin, width, height, x, y, xTicks, yTicks, xFormat: formatCompact, yFormat: formatCompact, xLabel: options.xLabel, yLabel: options.yLabel }));

  const baseline = y(yDomain[0]);
  for (const series of options.series) {
    if (series.points.length === 0) continue;
    const path = series.points.map(([px, py], index) => `${index === 0 ? 'M' : 'L'}${round(x(px))},${round(y(py))}`).join('');
    if (series.fill) {
      const first = series.points[0]!;
      const last = series.points[series.points.length - 1]!;
      parts.push(`<path d="${path}L${round(x(last[0]))},${round(baseline)}L${round(x(first[0]))},${round(baseline)}Z" fill="${series.color}" fill-opacity="0.15" stroke="none"/>`);
    }
    parts.push(`<path d="${path}" fill="none" stroke="${series.color}" stroke-width="1.3" stroke-linejoin="round"/>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

// ---------------------------------------------------------------------------
// Dot plot

export interface DotSeries {
  label: string;
  color: string;
  marker: MarkerShape;
}

export interface DotRow {
  label: string;
  /** One value per series, in the series' order; undefined leaves no dot. */
  values: ReadonlyArray<number | undefined>;
}

export interface DotPlotOptions {
  title: string;
  xLabel: string;
  series: readonly DotSeries[];
  rows: readonly DotRow[];
  xDomain: [number, number];
  width?: number;
  /** Height of one row, px. Default 17. */
  rowHeight?: number;
}

/** Draws a dot plot: one row per item, a dot per series on a shared x axis, and the legend above the rows. */
export function dotPlot(options: DotPlotOptions): string {
  const width = options.width ?? 560;
  const rowHeight = options.rowHeight ?? 17;
  const labelWidth = Math.min(220, Math.max(60, ...options.rows.map((row) => textWidth(row.label)))) + 12;
  const legendBlock = legend(
    options.series.map((series) => ({ label: series.label, color: series.color, marker: series.marker })),
    labelWidth,
    38,
    width - labelWidth - 14,
  );
  const margin: Margin = { top: 30 + legendBlock.height + 4, right: 14, bottom: 40, left: labelWidth };
  const height = margin.top + Math.max(1, options.rows.length) * rowHeight + margin.bottom;
  const x = linearScale(options.xDomain, [margin.left, width - margin.right]);
  const xTicks = niceTicks(options.xDomain[0], options.xDomain[1], 5);

  const parts = [svgOpen(width, height, options.title), titleText(width, options.title), legendBlock.svg];
  const bottom = height - margin.bottom;
  // Stripes on every other row, under the grid, guide the eye from label to dots.
  for (let index = 0; index < options.rows.length; index += 2) {
    const top = margin.top + index * rowHeight;
    parts.push(`<rect x="${margin.left}" y="${top}" width="${width - margin.left - margin.right}" height="${rowHeight}" fill="#f4f4f4"/>`);
  }
  for (const tick of xTicks) {
    const px = x(tick);
    parts.push(`<line x1="${round(px)}" x2="${round(px)}" y1="${margin.top}" y2="${bottom}" stroke="${GRID_COLOR}"/>`);
    parts.push(text(px, bottom + 16, formatCompact(tick), `text-anchor="middle" fill="${AXIS_COLOR}"`));
  }
  parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${bottom}" y2="${bottom}" stroke="${AXIS_COLOR}"/>`);
  parts.push(text((margin.left + width - margin.right) / 2, height - 6, options.xLabel, 'text-anchor="middle"'));

  for (const [index, row] of options.rows.entries()) {
    const cy = margin.top + index * rowHeight + rowHeight / 2;
    parts.push(text(margin.left - 8, cy + 4, row.label, `text-anchor="end" fill="${AXIS_COLOR}"`));
    for (const [seriesIndex, value] of row.values.entries()) {
      const series = options.series[seriesIndex];
      if (value === undefined || series === undefined || !Number.isFinite(value)) continue;
      parts.push(marker(series.marker, x(value), cy, series.color, 8));
    }
  }
  parts.push('</svg>');
  return parts.join('');
}
