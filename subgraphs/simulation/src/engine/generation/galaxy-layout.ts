/**
 * Where things sit: systems on a jittered square grid (constant density, so the galaxy's
 * area grows linearly with the system count), grouped into square regions with one market each.
 */
export const CELL = 10;
export const REGION_CELLS = 5;

export interface Layout {
  width: number;
  height: number;
  regionsX: number;
  regionsY: number;
}

export function layoutFor(systemCount: number): Layout {
  const width = Math.max(1, Math.ceil(Math.sqrt(systemCount)));
  const height = Math.max(1, Math.ceil(systemCount / width));
  return { width, height, regionsX: Math.ceil(width / REGION_CELLS), regionsY: Math.ceil(height / REGION_CELLS) };
}

export const cellOf = (layout: Layout, index: number): { cx: number; cy: number } => ({
  cx: index % layout.width,
  cy: Math.floor(index / layout.width),
});

export const regionOf = (layout: Layout, index: number): number => {
  const { cx, cy } = cellOf(layout, index);
  return Math.floor(cy / REGION_CELLS) * layout.regionsX + Math.floor(cx / REGION_CELLS);
};

/** The system index closest to a region's centre that exists, or -1 for an empty region. */
export function regionHub(layout: Layout, region: number, systemCount: number): number {
  const rx = region % layout.regionsX;
  const ry = Math.floor(region / layout.regionsX);
  let best = -1;
  let bestDistance = Infinity;
  for (let dy = 0; dy < REGION_CELLS; dy++) {
    for (let dx = 0; dx < REGION_CELLS; dx++) {
      const cx = rx * REGION_CELLS + dx;
      const cy = ry * REGION_CELLS + dy;
      if (cx >= layout.width) continue;
      const index = cy * layout.width + cx;
      if (index >= systemCount) continue;
      const d = Math.abs(dx - 2) + Math.abs(dy - 2);
      if (d < bestDistance) {
        best = index;
        bestDistance = d;
      }
    }
  }
  return best;
}
