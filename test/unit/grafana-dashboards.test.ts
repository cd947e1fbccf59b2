import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * The Grafana dashboards of ops/grafana/dashboards, structurally: Grafana has no Debian
 * package to load them into, so this checks what Grafana needs (valid JSON, unique uids,
 * titles and panel ids, panels on the 24-column grid) and what makes them portable (every
 * query on the `${datasource}` variable). test/e2e/prometheus-metrics.test.ts runs every
 * query against a real Prometheus.
 */

const dir = resolve(__dirname, "..", "..", "ops", "grafana", "dashboards");
type Target = { refId?: string; expr?: string; datasource?: { type?: string; uid?: string } };
type Panel = { id?: number; type?: string; title?: string; gridPos?: { x: number; y: number; w: number; h: number }; datasource?: { type?: string; uid?: string }; targets?: Target[]; panels?: Panel[] };
type Dashboard = { uid?: string; title?: string; panels?: Panel[]; templating?: { list?: { name: string; type: string; query?: unknown }[] } };

const files = readdirSync(dir).filter((name) => name.endsWith(".json")).sort();
const dashboards = files.map((name) => [name, JSON.parse(readFileSync(join(dir, name), "utf8")) as Dashboard] as const);
const allPanels = (panels: Panel[] = []): Panel[] => panels.flatMap((p) => [p, ...allPanels(p.panels)]);

/** What Grafana would refuse or show wrong, and queries not on the `${datasource}` variable. */
function problemsOf(dashboard: Dashboard): string[] {
  const panels = allPanels(dashboard.panels);
  const problems: string[] = [];
  const ids = panels.map((p) => p.id);
  if (ids.some((id) => typeof id !== "number")) problems.push("a panel without a numeric id");
  if (new Set(ids).size !== ids.length) problems.push("duplicate panel ids");
  for (const panel of panels) {
    const { x, y, w, h } = panel.gridPos ?? { x: -1, y: -1, w: 0, h: 0 };
    if (!(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24)) problems.push(`${panel.title}: gridPos ${JSON.stringify(panel.gridPos)}`);
    if (panel.type === "row") continue;
    if (!panel.title) problems.push(`panel ${panel.id}: no title`);
    if (panel.datasource?.uid !== "${datasource}") problems.push(`${panel.title}: datasource ${JSON.stringify(panel.datasource)}`);
    if (!panel.targets?.length) problems.push(`${panel.title}: no targets`);
    const refIds = (panel.targets ?? []).map((t) => t.refId);
    if (new Set(refIds).size !== refIds.length) problems.push(`${panel.title}: duplicate refIds`);
    for (const target of panel.targets ?? []) {
      if (typeof target.expr !== "string" || target.expr.trim() === "") problems.push(`${panel.title} ${target.refId}: no expr`);
      if (target.datasource?.uid !== "${datasource}") problems.push(`${panel.title} ${target.refId}: datasource ${JSON.stringify(target.datasource)}`);
    }
  }
  return problems;
}

describe("ops/grafana/dashboards", () => {
  it("has the gateway, subgraphs, workers, game and live dashboards, each valid JSON", () => {
    expect(files).toEqual(["game.json", "gateway.json", "live.json", "subgraphs.json", "workers.json"]);
  });

  it("gives every dashboard a uid and a title no other has", () => {
    const uids = dashboards.map(([, d]) => d.uid);
    const titles = dashboards.map(([, d]) => d.title);
    for (const value of [...uids, ...titles]) expect(value).toEqual(expect.any(String));
    expect(new Set(uids).size).toBe(uids.length);
    expect(new Set(titles).size).toBe(titles.length);
  });

  it.each(dashboards)("%s: declares the datasource variable, of type prometheus", (_name, dashboard) => {
    const variable = dashboard.templating?.list?.find((v) => v.name === "datasource");
    expect(variable).toMatchObject({ type: "datasource", query: "prometheus" });
  });

  it.each(dashboards)("%s: unique panel ids, on the grid, every query with an expr on ${datasource}", (_name, dashboard) => {
    expect(allPanels(dashboard.panels).length).toBeGreaterThan(1);
    expect(problemsOf(dashboard)).toEqual([]);
  });

  it("finds a broken dashboard broken (the checks are not vacuous)", () => {
    const broken: Dashboard = {
      panels: [
        { id: 1, type: "timeseries", title: "a", gridPos: { x: 20, y: 0, w: 12, h: 8 }, datasource: { uid: "prom" }, targets: [{ refId: "A", datasource: { uid: "${datasource}" } }] },
        { id: 1, type: "row", title: "r", gridPos: { x: 0, y: 8, w: 24, h: 1 } },
      ],
    };
    expect(problemsOf(broken)).toEqual([
      "duplicate panel ids",
      'a: gridPos {"x":20,"y":0,"w":12,"h":8}',
      'a: datasource {"uid":"prom"}',
      "a A: no expr",
    ]);
  });
});
