// Vega-lite specs of the discrepancy page (pure data; the page renders them with the bundled vega-embed): the
// energy of teacher - student per band and per frequency group, and per band the distance the loss measures
// next to what it counts after the preset's weights.
import type {BandDiscrepancy, DistillationTerms, GroupEnergy} from "../band-discrepancy.js";

/** Band energies coloured by group; shares of the total in the tooltip. */
export function bandEnergySpec(bands: readonly BandDiscrepancy[], groups: readonly GroupEnergy[], width = 420): Record<string, unknown> {
  const groupOf = new Map<string, string>();
  for (const g of groups) for (const b of g.bands) groupOf.set(b, g.group);
  const total = bands.reduce((a, b) => a + b.energy, 0);
  const values = bands.map((b) => ({band: b.band, group: groupOf.get(b.band) ?? "(none)", energy: b.energy, share: total > 0 ? b.energy / total : 0}));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width,
    height: 200,
    data: {values},
    mark: {type: "bar", tooltip: true},
    encoding: {
      x: {field: "band", type: "nominal", sort: bands.map((b) => b.band), title: "sub-band (coarse → fine)"},
      y: {field: "energy", type: "quantitative", title: "Σ (teacher − student)² in the band"},
      color: {field: "group", type: "nominal", title: "group", scale: {domain: groups.map((g) => g.group)}},
      tooltip: [
        {field: "band", type: "nominal"},
        {field: "group", type: "nominal"},
        {field: "energy", type: "quantitative", format: ".4g"},
        {field: "share", type: "quantitative", format: ".2%"}
      ]
    }
  };
}

export function groupEnergySpec(groups: readonly GroupEnergy[], width = 220): Record<string, unknown> {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width,
    height: 200,
    data: {values: groups.map((g) => ({...g, members: g.bands.join(", ")}))},
    mark: {type: "bar", tooltip: true},
    encoding: {
      x: {field: "group", type: "nominal", sort: groups.map((g) => g.group), title: "group"},
      y: {field: "share", type: "quantitative", title: "share of the discrepancy energy", axis: {format: ".0%"}, scale: {domain: [0, 1]}},
      color: {field: "group", type: "nominal", legend: null, scale: {domain: groups.map((g) => g.group)}},
      tooltip: [
        {field: "group", type: "nominal"},
        {field: "members", type: "nominal", title: "bands"},
        {field: "energy", type: "quantitative", format: ".4g"},
        {field: "share", type: "quantitative", format: ".2%"}
      ]
    }
  };
}

/** Per band: the loss's distance, unweighted and multiplied by the weight the band carries under the preset. */
export function lossTermsSpec(t: DistillationTerms, width = 420): Record<string, unknown> {
  const bands = Object.keys(t.bandWeights);
  const values = bands.flatMap((band) => [
    {band, what: "distance (unweighted)", value: t.perBand[band]},
    {band, what: "weight × distance (counted in the loss)", value: t.bandWeights[band] * t.perBand[band]}
  ]);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width,
    height: 200,
    data: {values},
    mark: {type: "bar", tooltip: true},
    encoding: {
      x: {field: "band", type: "nominal", sort: bands, title: "sub-band of the loss's transform"},
      xOffset: {field: "what", type: "nominal"},
      y: {field: "value", type: "quantitative", title: `${t.config.distance.toUpperCase()} per band`},
      color: {field: "what", type: "nominal", title: null, legend: {orient: "bottom", labelLimit: 400}},
      tooltip: [
        {field: "band", type: "nominal"},
        {field: "what", type: "nominal"},
        {field: "value", type: "quantitative", format: ".4g"}
      ]
    }
  };
}
