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

// A graph of more boxes than this draws only those in (or near) the frame's visible part, and
// draws more as the frame scrolls: a thousand boxes and their arrows are thousands of SVG
// elements, most of them out of sight, and creating them was most of a big run's drawing time.
const WINDOWED = 200;
// how far beyond the visible part boxes are drawn, in pixels (no blank edge while scrolling)
const MARGIN = 400;

// Whether a box (or an arrow's bounding box) meets the visible part of the frame, with a margin.
function meets(view, x0, y0, x1, y1) {
  return x1 >= view.left - MARGIN && x0 <= view.left + view.width + MARGIN && y1 >= view.top - MARGIN && y0 <= view.top + view.height + MARGIN;
}

export class Dag extends Component {
  constructor(props) {
    super(props);
    // before the frame is measured: the window's width, the frame's largest height (app.css)
    this.state = { view: { left: 0, top: 0, width: window.innerWidth, height: 520 } };
    this.frame = null;
    this.scrolled = () => {
      if (this.pending) return;
      this.pending = requestAnimationFrame(() => {
        this.pending = null;
        const { scrollLeft: left, scrollTop: top, clientWidth: width, clientHeight: height } = this.frame;
        this.setState({ view: { left, top, width, height } });
      });
    };
  }

  // The first drawing is marked for measurement (bench/ui_figures.py): the frame after the SVG
  // is in the document.
  componentDidMount() {
    requestAnimationFrame(() => performance.mark('orchestrator:dag-drawn'));
  }

  componentWillUnmount() {
    if (this.pending) cancelAnimationFrame(this.pending);
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

  render({ nodes, edges, states, elapsed, anchor, onPick }, { view }) {
    if (!nodes.length) return html`<p class="muted">This run has no pipelines yet.</p>`;
    const { placed, lines: all, width: w, height: h } = this.graph(nodes, edges);
    const windowed = placed.length > WINDOWED;
    const boxes = windowed ? placed.filter((n) => meets(view, n.x, n.y, n.x + n.width, n.y + n.height)) : placed;
    const lines = windowed
      ? all.filter(({ from, to }) => meets(view, Math.min(from.x, to.x), Math.min(from.y, to.y), Math.max(from.x, to.x), Math.max(from.y, to.y)))
      : all;
    return html`<div class="dag-frame" ref=${(el) => { this.frame = el; }} onScroll=${windowed ? this.scrolled : null}>
      <svg class="dag" width=${w} height=${h} viewBox=${`0 0 ${w} ${h}`} role="img" aria-label="pipelines of this run and their dependencies" data-nodes=${placed.length}>
        <defs>
          <marker id="dag-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="arrow-head" />
          </marker>
        </defs>
        <g class="edges">${lines.map((line) => html`<path key=${line.key} class="edge" d=${path(line)} marker-end="url(#dag-arrow)" />`)}</g>
        <g class="nodes">${boxes.map((node) => {
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
