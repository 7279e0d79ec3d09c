// The DAG of a run's pipelines, laid out in columns (layout.js) and drawn as SVG: one box per pipeline coloured
// by its state (with the state's word and glyph in the box), arrows from a pipeline to those that
// depend on it. A box links to its pipeline's details further down the page.
import { html, Component } from './html.js';
import { layered } from './layout.js';
import { statusOf, duration } from './format.js';

const HEIGHT = 44;
const CHAR = 7.4;

function width(name) {
  return Math.min(260, Math.max(150, name.length * CHAR + 34));
}

function fit(name, room) {
  const chars = Math.floor((room - 34) / CHAR);
  return name.length > chars ? `${name.slice(0, chars - 1)}…` : name;
}

// Edges come as [from, to] or {source, target} / {from, to}: "from" runs first.
export function edgeEnds(edge) {
  if (Array.isArray(edge)) return edge;
  return [edge.source ?? edge.from ?? edge.upstream, edge.target ?? edge.to ?? edge.downstream];
}

// A cubic curve from the right side of a box to the left side of the next: level where it leaves
// and where it arrives, whatever the rows in between.
function path({ from, to }) {
  const bend = Math.max(24, (to.x - from.x) / 2);
  return `M${from.x},${from.y} C${from.x + bend},${from.y} ${to.x - bend},${to.y} ${to.x - 2},${to.y}`;
}

export class Dag extends Component {
  // The first drawing is marked for measurement (bench/ui_figures.py): the frame after the SVG
  // is in the document.
  componentDidMount() {
    requestAnimationFrame(() => performance.mark('orchestrator:dag-drawn'));
  }

  // The layout is recomputed only when the graph changes, never when a state does.
  graph(nodes, edges) {
    const key = JSON.stringify([nodes, edges]);
    if (key !== this.key) {
      this.key = key;
      this.laid = layered(nodes, edges.map(edgeEnds), width, HEIGHT);
    }
    return this.laid;
  }

  render({ nodes, edges, states, elapsed, anchor, onPick }) {
    if (!nodes.length) return html`<p class="muted">This run has no pipelines yet.</p>`;
    const { placed, lines, width: w, height: h } = this.graph(nodes, edges);
    return html`<div class="dag-frame">
      <svg class="dag" width=${w} height=${h} viewBox=${`0 0 ${w} ${h}`} role="img" aria-label="pipelines of this run and their dependencies" data-nodes=${placed.length}>
        <defs>
          <marker id="dag-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="arrow-head" />
          </marker>
        </defs>
        <g class="edges">${lines.map((line) => html`<path key=${line.key} class="edge" d=${path(line)} marker-end="url(#dag-arrow)" />`)}</g>
        <g class="nodes">${placed.map((node) => {
          const { tone, label, glyph } = statusOf(states[node.name]);
          const took = elapsed[node.name];
          return html`<a key=${node.name} href=${`#${anchor(node.name)}`} class="node-link" onClick=${() => onPick && onPick(node.name)}>
            <g class=${`node tone-${tone}`} data-pipeline=${node.name} data-status=${label} transform=${`translate(${node.x},${node.y})`}>
              <title>${node.name}: ${label}${took != null ? `, ${duration(took)}` : ''}</title>
              <rect class="box" width=${node.width} height=${node.height} rx="7" />
              <rect class="stripe" width="5" height=${node.height} rx="2" />
              <text class="node-name" x="16" y="18">${fit(node.name, node.width)}</text>
              <text class="node-state" x="16" y="34">${glyph} ${label}${took != null ? ` · ${duration(took)}` : ''}</text>
            </g>
          </a>`;
        })}</g>
      </svg>
    </div>`;
  }
}
