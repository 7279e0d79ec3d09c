// A layered layout for the DAG of a run's pipelines, small enough to read and fast enough for a
// run of thousands of pipelines (dagre takes seconds to a minute at 1,000 nodes; this takes
// milliseconds): a pipeline's column is the longest chain of dependencies before it, the order
// within a column comes from a few barycentre sweeps (a node moves towards the mean position of
// its neighbours, which removes most crossings), and columns are centred on the tallest one.

const SWEEPS = 6;

// Each node's column: the longest chain of dependencies before it (Kahn's order; a cycle, which a
// plan never has, would leave its nodes in column 0). Also what orders a run's pipeline sections.
export function ranks(count, ups, downs) {
  const rank = new Array(count).fill(0);
  const waiting = ups.map((list) => list.length);
  const queue = [];
  for (let i = 0; i < count; i += 1) if (waiting[i] === 0) queue.push(i);
  for (let head = 0; head < queue.length; head += 1) {
    const node = queue[head];
    for (const next of downs[node]) {
      rank[next] = Math.max(rank[next], rank[node] + 1);
      waiting[next] -= 1;
      if (waiting[next] === 0) queue.push(next);
    }
  }
  return rank;
}

// The names in the order a reader follows them: column by column, each column as given.
export function flowOrder(names, edges) {
  const { ups, downs } = adjacency(names, edges);
  const rank = ranks(names.length, ups, downs);
  return names.map((name, i) => [rank[i], i, name]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, , name]) => name);
}

function adjacency(names, edges) {
  const index = new Map(names.map((name, i) => [name, i]));
  const ups = names.map(() => []);
  const downs = names.map(() => []);
  const links = [];
  for (const [from, to] of edges) {
    const a = index.get(from);
    const b = index.get(to);
    if (a === undefined || b === undefined || a === b) continue;
    ups[b].push(a);
    downs[a].push(b);
    links.push([a, b]);
  }
  return { ups, downs, links };
}

export function layered(names, edges, widthOf, height, gaps = { column: 56, row: 14, margin: 8 }) {
  const count = names.length;
  const { ups, downs, links } = adjacency(names, edges);
  const rank = ranks(count, ups, downs);
  const columns = [];
  for (let i = 0; i < count; i += 1) (columns[rank[i]] ||= []).push(i);
  for (let c = 0; c < columns.length; c += 1) columns[c] ||= [];

  // order within columns: barycentre sweeps, forwards then backwards
  const position = new Array(count).fill(0);
  const place = (column) => column.forEach((node, i) => { position[node] = i; });
  columns.forEach(place);
  const mean = (list, fallback) => (list.length ? list.reduce((sum, n) => sum + position[n], 0) / list.length : fallback);
  for (let sweep = 0; sweep < SWEEPS; sweep += 1) {
    const forward = sweep % 2 === 0;
    const order = forward ? columns.map((_, c) => c).slice(1) : columns.map((_, c) => c).reverse().slice(1);
    for (const c of order) {
      const column = columns[c];
      const key = new Map(column.map((node) => [node, mean(forward ? ups[node] : downs[node], position[node])]));
      column.sort((a, b) => key.get(a) - key.get(b) || position[a] - position[b]);
      place(column);
    }
  }

  // coordinates: each column as wide as its widest node, centred vertically
  const tallest = Math.max(1, ...columns.map((column) => column.length));
  const fullHeight = tallest * height + (tallest - 1) * gaps.row;
  const placed = new Array(count);
  let x = gaps.margin;
  for (const column of columns) {
    const width = Math.max(0, ...column.map((node) => widthOf(names[node])));
    const own = column.length * height + (column.length - 1) * gaps.row;
    let y = gaps.margin + (fullHeight - own) / 2;
    for (const node of column) {
      placed[node] = { name: names[node], x, y, width: widthOf(names[node]), height };
      y += height + gaps.row;
    }
    x += width + gaps.column;
  }
  const lines = links.map(([a, b]) => {
    const from = placed[a];
    const to = placed[b];
    return { key: `${from.name}\u0000${to.name}`, from: { x: from.x + from.width, y: from.y + height / 2 }, to: { x: to.x, y: to.y + height / 2 } };
  });
  return { placed, lines, width: Math.ceil(x - gaps.column + gaps.margin), height: Math.ceil(fullHeight + 2 * gaps.margin) };
}
