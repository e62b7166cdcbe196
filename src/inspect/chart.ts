/**
 * State charts read from the machine definitions themselves, so a chart
 * changes whenever a machine does. `describeMachine` walks xstate's StateNode
 * tree into a plain model; `chartToDot` writes that model as Graphviz DOT.
 */
import type { AnyStateMachine } from 'xstate';

/** A transition that changes state (or re-enters its own), drawn as an edge. */
export interface ChartEdge {
  /** StateNode id of the state that declares the transition. */
  from: string;
  to: string;
  /** Readable trigger: an event type, `after <delay>`, `<actor>: done`, or `always`. */
  trigger: string;
  guard?: string;
  actions: string[];
}

/** A transition without a target: the state handles the event with actions only. */
export interface ChartHandler {
  trigger: string;
  guard?: string;
  actions: string[];
  /** True when some of its actions have no name (inline functions or xstate built-ins). */
  inlineActions: boolean;
}

export interface ChartState {
  /** xstate StateNode id, such as `slot.destroying.calling`. */
  id: string;
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  entry: string[];
  exit: string[];
  /** Sources of the actors the state invokes. */
  invokes: string[];
  handlers: ChartHandler[];
  /** Id of the initial child, for compound states. */
  initial?: string;
  children: ChartState[];
}

export interface MachineChart {
  /** Machine id, which is also the root StateNode id. */
  id: string;
  /** The root node; its handlers apply in every state. */
  root: ChartState;
  edges: ChartEdge[];
  /** Raw event type to readable trigger, for naming transitions seen at run time. */
  triggers: Map<string, string>;
}

/* The parts of xstate's StateNode and TransitionDefinition read here. */
interface NodeLike {
  id: string;
  key: string;
  type: ChartState['type'];
  states: Record<string, NodeLike>;
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
  after: (TransitionLike & { delay: unknown })[];
  invoke: { id: string; src: unknown }[];
  entry: unknown[];
  exit: unknown[];
  initial?: { target: readonly NodeLike[] };
}

interface TransitionLike {
  eventType: string;
  target?: readonly NodeLike[];
  reenter: boolean;
  guard?: unknown;
  actions: readonly unknown[];
}

const AFTER_PREFIX = 'xstate.after.';
const DONE_ACTOR_PREFIX = 'xstate.done.actor.';
const ERROR_ACTOR_PREFIX = 'xstate.error.actor.';
const DONE_STATE_PREFIX = 'xstate.done.state.';

/** Returns the machine's states, transitions and handlers as a plain model. */
export function describeMachine(machine: AnyStateMachine): MachineChart {
  const root = machine.root as unknown as NodeLike;
  const edges: ChartEdge[] = [];
  const triggers = new Map<string, string>();
  const invokeSources = new Map<string, string>();
  collectInvokes(root, invokeSources);
  const chartRoot = describeNode(root, { edges, triggers, invokeSources });
  return { id: root.id, root: chartRoot, edges, triggers };
}

interface WalkContext {
  edges: ChartEdge[];
  triggers: Map<string, string>;
  invokeSources: Map<string, string>;
}

function collectInvokes(node: NodeLike, into: Map<string, string>): void {
  for (const definition of node.invoke) into.set(definition.id, describeSource(definition.src));
  for (const child of Object.values(node.states)) collectInvokes(child, into);
}

function describeNode(node: NodeLike, walk: WalkContext): ChartState {
  const state: ChartState = {
    id: node.id,
    key: node.key,
    type: node.type,
    entry: namedActions(node.entry),
    exit: namedActions(node.exit),
    invokes: node.invoke.map((definition) => describeSource(definition.src)),
    handlers: [],
    children: [],
  };
  const initialTarget = node.initial?.target[0];
  if (node.type === 'compound' && initialTarget) state.initial = initialTarget.id;

  const delays = new Map<string, unknown>();
  for (const delayed of node.after) delays.set(delayed.eventType, delayed.delay);

  for (const [eventType, transitions] of node.transitions) {
    const trigger = describeTrigger(eventType, delays, walk.invokeSources);
    walk.triggers.set(eventType, trigger);
    for (const transition of transitions) addTransition(node, transition, trigger, state, walk);
  }
  for (const transition of node.always ?? []) addTransition(node, transition, 'always', state, walk);

  for (const child of Object.values(node.states)) state.children.push(describeNode(child, walk));
  return state;
}

function addTransition(node: NodeLike, transition: TransitionLike, trigger: string, state: ChartState, walk: WalkContext): void {
  const guard = transition.guard === undefined ? undefined : describeGuard(transition.guard);
  const actions = namedActions(transition.actions);
  if (!transition.target || transition.target.length === 0) {
    state.handlers.push({ trigger, guard, actions, inlineActions: actions.length < transition.actions.length });
    return;
  }
  for (const target of transition.target) {
    walk.edges.push({ from: node.id, to: target.id, trigger, guard, actions });
  }
}

/** Turns xstate's generated event types (delays, invoke results) back into the terms of the machine config. */
function describeTrigger(eventType: string, delays: Map<string, unknown>, invokeSources: Map<string, string>): string {
  if (delays.has(eventType)) {
    const delay = delays.get(eventType);
    return typeof delay === 'number' ? `after ${delay} ms` : `after ${typeof delay === 'string' ? delay : 'delay'}`;
  }
  if (eventType.startsWith(DONE_ACTOR_PREFIX)) {
    const id = eventType.slice(DONE_ACTOR_PREFIX.length);
    return `${invokeSources.get(id) ?? id}: done`;
  }
  if (eventType.startsWith(ERROR_ACTOR_PREFIX)) {
    const id = eventType.slice(ERROR_ACTOR_PREFIX.length);
    return `${invokeSources.get(id) ?? id}: error`;
  }
  if (eventType.startsWith(DONE_STATE_PREFIX)) return `${eventType.slice(DONE_STATE_PREFIX.length)}: done`;
  if (eventType.startsWith(AFTER_PREFIX)) return `after ${eventType.slice(AFTER_PREFIX.length)}`;
  return eventType;
}

function describeSource(source: unknown): string {
  if (typeof source === 'string') return source;
  if (source && typeof source === 'object' && 'id' in source && typeof source.id === 'string') return source.id;
  return 'inline actor';
}

function describeGuard(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    // xstate's and(), or() and not() return functions that carry their operands as `guards`.
    const operands = (guard as { guards?: unknown[] }).guards;
    if (Array.isArray(operands)) {
      const parts = operands.map(describeGuard);
      if (guard.name === 'not') return `!${parts[0] ?? ''}`;
      return `(${parts.join(guard.name === 'or' ? ' || ' : ' && ')})`;
    }
    // NOTE: an inline guard's source text is what the TypeScript loader emitted, not the machine
    // file's text, so it is not shown. Naming the guard in `setup` puts its name here.
    return guard.name && guard.name !== 'guard' ? guard.name : 'inline guard';
  }
  if (guard && typeof guard === 'object' && 'type' in guard && typeof guard.type === 'string') return guard.type;
  return 'guard';
}

/** Names of the actions declared by name; inline functions and xstate built-ins have none worth showing. */
function namedActions(actions: readonly unknown[]): string[] {
  const names: string[] = [];
  for (const action of actions) {
    if (typeof action === 'string') names.push(action);
    else if (action && typeof action === 'object' && 'type' in action && typeof action.type === 'string') names.push(action.type);
  }
  return names;
}

/** Returns every state of the chart, depth first, root excluded. */
export function chartStates(chart: MachineChart): ChartState[] {
  const states: ChartState[] = [];
  const visit = (state: ChartState) => {
    for (const child of state.children) {
      states.push(child);
      visit(child);
    }
  };
  visit(chart.root);
  return states;
}

/** SVG element id Graphviz gives a state's node or cluster, used by the live page to highlight it. */
export function stateElementId(stateId: string): string {
  return `state:${stateId}`;
}

// Graphviz in WebAssembly has no system fonts, only built-in metrics for the PostScript fonts such as Helvetica.
const FONT = 'Helvetica';
const COLORS = {
  stateFill: '#f5f7fa',
  stateLine: '#5b6b7f',
  compoundFill: '#eef2f7',
  finalFill: '#e9ecef',
  detail: '#55606e',
  guard: '#8a4b08',
  action: '#6b7280',
  noteFill: '#fffbe6',
};

/** Writes the chart as Graphviz DOT: compound states as clusters, guards in brackets, actions after a slash. */
export function chartToDot(chart: MachineChart): string {
  const lines: string[] = [];
  lines.push(`digraph ${quote(chart.id)} {`);
  lines.push(
    `  graph [compound=true, rankdir=TB, fontname=${quote(FONT)}, fontsize=16, labelloc=t, ` +
      `nodesep=0.45, ranksep=0.55, pad=0.3, label=${quote(`${chart.id} machine`)}];`,
  );
  lines.push(
    `  node [shape=box, style="rounded,filled", fillcolor=${quote(COLORS.stateFill)}, ` +
      `color=${quote(COLORS.stateLine)}, fontname=${quote(FONT)}, fontsize=12, margin="0.14,0.06"];`,
  );
  lines.push(`  edge [fontname=${quote(FONT)}, fontsize=10, color="#3d4852", arrowsize=0.7];`);

  const everywhere = chart.root.handlers;
  if (everywhere.length > 0 || chart.edges.some((edge) => edge.from === chart.root.id)) {
    const rows = everywhere.map((handler) => handlerRow(handler)).join('');
    lines.push(
      `  ${quote(everywhereNoteId(chart))} [shape=note, style=filled, fillcolor=${quote(COLORS.noteFill)}, ` +
        `color="#b8a24a", label=<<table border="0" cellborder="0" cellspacing="1">` +
        `<tr><td align="left"><b>in every state</b></td></tr>${rows}</table>>];`,
    );
  }

  writeChildren(chart.root, lines, '  ');
  for (const edge of chart.edges) lines.push(`  ${edgeStatement(edge, chart)}`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function writeChildren(parent: ChartState, lines: string[], indent: string): void {
  if (parent.initial) {
    const initialId = initialPointId(parent.id);
    lines.push(`${indent}${quote(initialId)} [shape=point, width=0.14, label="", fillcolor=black];`);
    lines.push(`${indent}${quote(initialId)} -> ${quote(anchorId(findChild(parent, parent.initial)))};`);
  }
  for (const child of parent.children) {
    if (child.children.length > 0) writeCluster(child, lines, indent);
    else lines.push(`${indent}${quote(child.id)} [id=${quote(stateElementId(child.id))}, ${nodeAttributes(child)}];`);
  }
}

function writeCluster(state: ChartState, lines: string[], indent: string): void {
  lines.push(`${indent}subgraph ${quote(clusterId(state.id))} {`);
  lines.push(
    `${indent}  graph [id=${quote(stateElementId(state.id))}, style="rounded,filled", fillcolor=${quote(COLORS.compoundFill)}, ` +
      `color=${quote(COLORS.stateLine)}, fontsize=12, label=${stateLabel(state)}];`,
  );
  writeChildren(state, lines, `${indent}  `);
  lines.push(`${indent}}`);
}

function nodeAttributes(state: ChartState): string {
  const parts = [`label=${stateLabel(state)}`];
  if (state.type === 'final') parts.push(`peripheries=2, fillcolor=${quote(COLORS.finalFill)}`);
  return parts.join(', ');
}

/** Builds a state's label: its name, then entry actions, invoked actors and the events it handles in place. */
function stateLabel(state: ChartState): string {
  const rows = [`<tr><td><b>${escapeHtml(state.key)}</b></td></tr>`];
  const detail = (text: string) => `<tr><td align="left"><font point-size="9" color="${COLORS.detail}">${text}</font></td></tr>`;
  if (state.entry.length > 0) rows.push(detail(`entry / ${escapeHtml(state.entry.join(', '))}`));
  for (const source of state.invokes) rows.push(detail(`invoke ${escapeHtml(source)}`));
  for (const handler of state.handlers) rows.push(handlerRow(handler));
  if (state.exit.length > 0) rows.push(detail(`exit / ${escapeHtml(state.exit.join(', '))}`));
  return `<<table border="0" cellborder="0" cellspacing="1">${rows.join('')}</table>>`;
}

function handlerRow(handler: ChartHandler): string {
  const guard = handler.guard ? ` <font color="${COLORS.guard}">[${escapeHtml(handler.guard)}]</font>` : '';
  let named = 'ignored';
  if (handler.actions.length > 0) named = handler.actions.join(', ');
  else if (handler.inlineActions) named = 'inline actions';
  return (
    `<tr><td align="left"><font point-size="9" color="${COLORS.detail}">${escapeHtml(handler.trigger)}${guard}` +
    ` / ${escapeHtml(named)}</font></td></tr>`
  );
}

function edgeStatement(edge: ChartEdge, chart: MachineChart): string {
  const from = findState(chart, edge.from);
  const to = findState(chart, edge.to);
  const attributes: string[] = [];
  // Transitions declared on the machine root leave from the "in every state" note.
  const fromId = from === chart.root ? everywhereNoteId(chart) : anchorId(from);
  let label = escapeHtml(edge.trigger);
  if (edge.guard) label += ` <font color="${COLORS.guard}">[${escapeHtml(edge.guard)}]</font>`;
  if (edge.actions.length > 0) {
    label += `<br/><font point-size="8" color="${COLORS.action}">/ ${escapeHtml(edge.actions.join(', '))}</font>`;
  }
  attributes.push(`label=<${label}>`);
  if (from !== chart.root && from.children.length > 0) attributes.push(`ltail=${quote(clusterId(from.id))}`);
  if (to !== chart.root && to.children.length > 0) attributes.push(`lhead=${quote(clusterId(to.id))}`);
  return `${quote(fromId)} -> ${quote(anchorId(to))} [${attributes.join(', ')}];`;
}

/** Returns the node an edge to or from a state attaches to: the state's own node, or a cluster's initial point. */
function anchorId(state: ChartState): string {
  if (state.children.length === 0) return state.id;
  return state.initial ? initialPointId(state.id) : anchorId(state.children[0]!);
}

function findChild(parent: ChartState, id: string): ChartState {
  const child = parent.children.find((candidate) => candidate.id === id);
  if (!child) throw new Error(`state ${parent.id} has no child ${id}`);
  return child;
}

function findState(chart: MachineChart, id: string): ChartState {
  if (chart.root.id === id) return chart.root;
  const state = chartStates(chart).find((candidate) => candidate.id === id);
  if (!state) throw new Error(`machine ${chart.id} has no state ${id}`);
  return state;
}

function everywhereNoteId(chart: MachineChart): string {
  return `${chart.id}.__everywhere`;
}

function initialPointId(stateId: string): string {
  return `${stateId}.__initial`;
}

function clusterId(stateId: string): string {
  return `cluster_${stateId}`;
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
