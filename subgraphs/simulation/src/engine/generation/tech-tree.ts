import type { Tech } from "../model";

/** The tech tree: tiers of technologies, each needing the ones before it. */
export function techTree(): Tech[] {
  const t = (id: string, name: string, cost: number, prereqs: string[], effect: Tech["effect"], magnitude: number): Tech => ({
    id,
    name,
    cost,
    prereqs,
    effect,
    magnitude,
  });
  return [
    t("tech-agronomy", "Agronomy", 60, [], "production", 5),
    t("tech-fusion", "Fusion Power", 60, [], "production", 5),
    t("tech-sensors", "Deep Sensors", 50, [], "sensors", 5),
    t("tech-rhetoric", "Civic Rhetoric", 50, [], "stability", 5),
    t("tech-automation", "Automation", 150, ["tech-agronomy", "tech-fusion"], "production", 10),
    t("tech-computing", "Quantum Computing", 150, ["tech-fusion"], "research", 15),
    t("tech-drives", "Ion Drives", 120, ["tech-fusion"], "speed", 20),
    t("tech-lasers", "Laser Batteries", 120, ["tech-fusion"], "weapons", 15),
    t("tech-commerce", "Interstellar Commerce", 120, ["tech-rhetoric"], "trade", 10),
    t("tech-nanofab", "Nanofabrication", 320, ["tech-automation", "tech-computing"], "production", 15),
    t("tech-warp", "Warp Lanes", 300, ["tech-drives", "tech-computing"], "speed", 40),
    t("tech-shields", "Deflector Shields", 300, ["tech-lasers", "tech-computing"], "weapons", 25),
    t("tech-arcology", "Arcologies", 300, ["tech-automation", "tech-rhetoric"], "stability", 10),
    t("tech-ai-research", "Synthetic Minds", 600, ["tech-nanofab", "tech-computing"], "research", 30),
    t("tech-long-range", "Long-Range Scanners", 250, ["tech-sensors", "tech-computing"], "sensors", 15),
    t("tech-singularity", "Singularity Engineering", 1200, ["tech-ai-research", "tech-warp", "tech-shields"], "production", 30),
  ];
}
