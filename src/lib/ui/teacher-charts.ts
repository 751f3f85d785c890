// Vega-lite specs of the teacher page (pure data; the page renders them with the bundled vega-embed): the ResShift
// schedule, eta_t and the noise std kappa sqrt(eta_t) per step, for the trained values and the edited ones; and
// the run time of a full sample against the number of steps.
import type {Schedule} from "../diffusion.js";
import type {TimingRow} from "./teacher-engine.js";

export interface ScheduleRow {
  schedule: string;
  t: number;
  quantity: string;
  value: number;
}

export const ETA = "η_t (shift towards y)";
export const NOISE = "noise std κ√η_t";

/** Long-form rows of a schedule, t = 0..T. */
export function scheduleRows(s: Schedule, name: string): ScheduleRow[] {
  const rows: ScheduleRow[] = [];
  for (let t = 0; t <= s.T; t++) {
    rows.push({schedule: name, t, quantity: ETA, value: s.eta[t]});
    rows.push({schedule: name, t, quantity: NOISE, value: s.kappa * Math.sqrt(s.eta[t])});
  }
  return rows;
}

export function scheduleSpec(rows: ScheduleRow[], width = 300): Record<string, unknown> {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: {values: rows},
    facet: {column: {field: "quantity", type: "nominal", title: null, sort: [ETA, NOISE]}},
    spec: {
      width,
      height: 200,
      mark: {type: "line", point: true, tooltip: true},
      encoding: {
        x: {field: "t", type: "quantitative", title: "step t", axis: {tickMinStep: 1}},
        y: {field: "value", type: "quantitative", title: null},
        color: {field: "schedule", type: "nominal", title: "schedule"},
        strokeDash: {field: "schedule", type: "nominal"},
        tooltip: [
          {field: "schedule", type: "nominal"},
          {field: "t", type: "quantitative"},
          {field: "value", type: "quantitative", format: ".4g"}
        ]
      }
    },
    resolve: {scale: {y: "independent"}}
  };
}

export function timingSpec(rows: TimingRow[], backend: string, width = 360): Record<string, unknown> {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width,
    height: 200,
    data: {values: rows.map((r) => ({...r, s: r.ms / 1000}))},
    mark: {type: "line", point: true, tooltip: true},
    encoding: {
      x: {field: "steps", type: "quantitative", title: "denoiser steps per sample", scale: {zero: true}},
      y: {field: "s", type: "quantitative", title: `seconds per sample on ${backend}`, scale: {zero: true}},
      tooltip: [
        {field: "steps", type: "quantitative"},
        {field: "ms", type: "quantitative", format: ".1f", title: "ms"},
        {field: "stepsPerSecond", type: "quantitative", format: ".2f", title: "steps/s"}
      ]
    }
  };
}
