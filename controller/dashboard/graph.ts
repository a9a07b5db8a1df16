/** The overlay graph (cytoscape): regions as compound nodes, switches and hosts, VXLAN links, containers at their ports. */
import cytoscape from 'cytoscape';
import type { Container, Migration, Topology } from './api.js';

const STYLE: cytoscape.StylesheetJson = [
  { selector: 'node', style: { label: 'data(label)', 'font-size': 14, 'text-valign': 'bottom', 'text-margin-y': 3, color: '#1d2330' } },
  { selector: 'node.region', style: { 'background-color': '#eef2ff', 'background-opacity': 0.6, 'border-color': '#a5b4fc', 'border-width': 1, shape: 'round-rectangle', 'text-valign': 'top', 'font-weight': 'bold', color: '#4338ca', padding: '14px' } },
  { selector: 'node.switch', style: { 'background-color': '#2563eb', shape: 'round-rectangle', width: 44, height: 28 } },
  { selector: 'node.host', style: { 'background-color': '#64748b', shape: 'rectangle', width: 34, height: 26 } },
  { selector: 'node.down', style: { 'background-color': '#b91c1c', 'border-width': 2, 'border-style': 'dashed', 'border-color': '#7f1d1d' } },
  { selector: 'node.container', style: { 'background-color': '#7c3aed', shape: 'ellipse', width: 18, height: 18, 'font-size': 13 } },
  { selector: 'node.ghost', style: { 'background-opacity': 0.25, 'border-width': 2, 'border-style': 'dashed', shape: 'ellipse', width: 18, height: 18, 'font-size': 13 } },
  { selector: 'edge', style: { width: 2, 'line-color': '#94a3b8', 'curve-style': 'bezier', label: 'data(label)', 'font-size': 11, color: '#6b7280', 'text-rotation': 'autorotate' } },
  { selector: 'edge.unknown', style: { 'line-style': 'dotted' } },
  { selector: 'edge.down', style: { 'line-color': '#b91c1c', 'line-style': 'dashed' } },
  { selector: 'edge.attach', style: { width: 1, 'line-color': '#c4b5fd' } },
  { selector: 'edge.path', style: { width: 7, 'line-color': '#0ea5e9', opacity: 0.8 } },
  { selector: '.old', style: { 'line-color': '#d97706', 'border-color': '#d97706', 'background-color': '#d97706', width: 3 } },
  { selector: '.new', style: { 'line-color': '#059669', 'border-color': '#059669', 'background-color': '#059669', width: 3 } },
  { selector: 'node.old, node.new', style: { width: 20, height: 20 } },
];

export interface GraphSummary {
  nodes: { id: string; label: string; parent: string | null; classes: string[] }[];
  edges: { id: string; source: string; target: string; label: string; classes: string[] }[];
}

export class OverlayGraph {
  private readonly cy: cytoscape.Core;
  private shape = '';

  constructor(container: HTMLElement) {
    this.cy = cytoscape({ container, style: STYLE, wheelSensitivity: 0.3, minZoom: 0.3, maxZoom: 3 });
  }

  /** Redraws from the API's views; lays out again only when the set of elements changed. */
  render(topology: Topology, containers: Container[], migration: Migration | null): void {
    const regionOf = new Map(topology.nodes.map((n) => [n.name, n.region]));
    const elements: cytoscape.ElementDefinition[] = [];
    for (const r of topology.regions) elements.push({ group: 'nodes', data: { id: `region:${r}`, label: r }, classes: 'region' });
    for (const n of topology.nodes) {
      elements.push({ group: 'nodes', data: { id: n.name, label: n.name, parent: `region:${n.region}` }, classes: `${n.kind}${n.connected ? '' : ' down'}` });
    }
    for (const l of topology.links) {
      elements.push({ group: 'edges', data: { id: `link:${l.index}`, source: l.a.node, target: l.b.node, label: `vni ${l.vni}` }, classes: `link ${l.state}` });
    }
    const active = migration && (migration.state === 'prepared' || migration.state === 'committing' || migration.state === 'committed') ? migration : null;
    for (const c of containers) {
      if (!regionOf.has(c.node)) continue;
      const side = active && active.container === c.name ? (c.node === active.to.node ? 'new' : 'old') : '';
      elements.push({ group: 'nodes', data: { id: `container:${c.name}`, label: c.name, parent: `region:${regionOf.get(c.node)}` }, classes: `container ${side}` });
      elements.push({ group: 'edges', data: { id: `attach:${c.name}`, source: c.node, target: `container:${c.name}`, label: c.port ?? `port ${c.ofport}` }, classes: `attach ${side}` });
    }
    if (active && regionOf.has(active.from.node) && regionOf.has(active.to.node)) {
      // The side the container is not on (yet, or any more) as a ghost, so old and new both show.
      const at = containers.find((c) => c.name === active.container);
      const ghost = at?.node === active.to.node ? { side: 'old', node: active.from.node, port: active.from.port ?? `port ${active.from.ofport}` } : { side: 'new', node: active.to.node, port: active.to.port ?? '' };
      elements.push({ group: 'nodes', data: { id: `ghost:${active.id}`, label: `${active.container} (${ghost.side})`, parent: `region:${regionOf.get(ghost.node)}` }, classes: `ghost ${ghost.side}` });
      elements.push({ group: 'edges', data: { id: `ghost-attach:${active.id}`, source: ghost.node, target: `ghost:${active.id}`, label: ghost.port }, classes: `attach ${ghost.side}` });
    }
    const shape = elements.map((e) => `${e.data.id}>${e.data.parent ?? ''}>${e.data.source ?? ''}>${e.data.target ?? ''}`).sort().join('|');
    this.cy.batch(() => {
      const keep = new Set(elements.map((e) => e.data.id));
      this.cy.elements().filter((e) => !keep.has(e.id())).remove();
      for (const def of elements) {
        const existing = this.cy.getElementById(def.data.id!);
        if (existing.nonempty() && existing.isNode() && (existing.data('parent') ?? undefined) !== def.data.parent) existing.remove();
        const el = this.cy.getElementById(def.data.id!);
        if (el.nonempty()) {
          el.data(def.data);
          el.classes(def.classes as string);
        } else {
          this.cy.add(def);
        }
      }
      this.cy.edges('.path').removeClass('path');
      if (active) this.markPath(active.from.node, active.to.node);
    });
    if (shape !== this.shape) {
      this.shape = shape;
      this.cy.layout({ name: 'cose', animate: false, nodeDimensionsIncludeLabels: true, padding: 10, randomize: false, idealEdgeLength: () => 60, nodeRepulsion: () => 6000 } as cytoscape.LayoutOptions).run();
      this.cy.fit(undefined, 15);
    }
  }

  /** The tunnels between the old and the new location. */
  private markPath(from: string, to: string): void {
    if (from === to) return;
    const overlay = this.cy.elements('node.switch, node.host, edge.link');
    const found = overlay.aStar({ root: this.cy.getElementById(from), goal: this.cy.getElementById(to), directed: false });
    if (found.found) found.path.edges().addClass('path');
  }

  summary(): GraphSummary {
    return {
      nodes: this.cy.nodes().map((n) => ({ id: n.id(), label: String(n.data('label') ?? ''), parent: (n.data('parent') as string | undefined) ?? null, classes: n.classes() })),
      edges: this.cy.edges().map((e) => ({ id: e.id(), source: e.source().id(), target: e.target().id(), label: String(e.data('label') ?? ''), classes: e.classes() })),
    };
  }
}
