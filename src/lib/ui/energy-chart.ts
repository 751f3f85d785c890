// The vega-lite spec for the energy-per-band chart (pure data; the page renders it with the bundled
// vega-embed from src/_vendor/).

export interface BandEnergy {
  band: string;
  /** Level j of the band (J for LL{J}). */
  level: number;
  /** "LL", "LH", "HL" or "HH". */
  orientation: string;
  /** Sum of squared coefficients over all pixels and channels. */
  energy: number;
  /** energy / total energy of all bands. */
  share: number;
}

/** Powers of ten from `floor` to 1: one tick per decade keeps a log axis readable. */
function decades(floor: number): number[] {
  const out: number[] = [];
  for (let e = Math.round(Math.log10(floor)); e <= 0; e++) out.push(10 ** e);
  return out;
}

export function energySpec(rows: BandEnergy[], opts: {log: boolean; width?: number}): Record<string, unknown> {
  // A log scale cannot show zero: a band with no energy is dropped there (and the page says so).
  const values = opts.log ? rows.filter((r) => r.share > 0) : rows;
  // On a log axis bars start from a floor one decade below the smallest share (a bar from zero cannot be drawn).
  const smallest = Math.min(...values.map((r) => r.share), 1);
  const floor = 10 ** (Math.floor(Math.log10(smallest)) - (smallest === 1 ? 1 : 0));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: opts.width ?? 480,
    height: 220,
    data: {values},
    mark: {type: "bar", tooltip: true},
    encoding: {
      x: {field: "band", type: "nominal", sort: rows.map((r) => r.band), title: "sub-band (coarse → fine)"},
      y: {
        field: "share",
        type: "quantitative",
        title: "share of total energy",
        scale: opts.log ? {type: "log", domain: [floor, 1]} : {type: "linear", domain: [0, 1]},
        axis: opts.log ? {format: ".0e", values: decades(floor)} : {format: ".0%"}
      },
      ...(opts.log ? {y2: {datum: floor}} : {}),
      color: {
        field: "orientation",
        type: "nominal",
        title: "orientation",
        scale: {domain: ["LL", "LH", "HL", "HH"]}
      },
      tooltip: [
        {field: "band", type: "nominal"},
        {field: "share", type: "quantitative", format: ".3%"},
        {field: "energy", type: "quantitative", format: ".4g"}
      ]
    }
  };
}
