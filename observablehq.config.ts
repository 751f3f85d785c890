// Observable Framework configuration for DTKD Lab.
// The site must build and run with no network: no Google Fonts stylesheet (Framework's default), no npm:
// imports and no implicit Plot/d3/Inputs/vl (pages import what they use from node_modules or src/_vendor).
// Framework writes relative links only, so the built site also works under a sub-path such as /dtkd-lab/.

/** Every page of the lab, in sidebar order. Paths are routes: src/pages/wavelets.md is /pages/wavelets.
 *  The end-to-end test checks that this list and the files in src/pages/ agree. */
export const PAGES = [
  {name: "Home", path: "/pages/"},
  {name: "DWT explorer", path: "/pages/wavelets"},
  {name: "Data", path: "/pages/data"},
  {name: "Models", path: "/pages/models"},
  {name: "Teacher", path: "/pages/teacher"},
  {name: "Discrepancy", path: "/pages/discrepancy"},
  {name: "Live distillation", path: "/pages/distill"},
  {name: "Benchmark", path: "/pages/benchmark"},
  {name: "Report", path: "/pages/report"}
];

// A built-in icon: without one, browsers ask every host for /favicon.ico and log a 404.
// (base64, because Framework re-encodes percent signs in head links).
const ICON =
  "data:image/svg+xml;base64," +
  Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">' +
      '<rect width="8" height="8" fill="#4269d0"/><rect x="8" width="8" height="8" fill="#9aa8c8"/>' +
      '<rect y="8" width="8" height="8" fill="#9aa8c8"/><rect x="8" y="8" width="8" height="8" fill="#d4d9e4"/></svg>'
  ).toString("base64");

export default {
  root: "src",
  // Where `observable build` writes the site. The end-to-end test sets DTKD_SITE_OUTPUT to a private folder
  // under .cache/ so that builds running at the same time in one working tree cannot collide in dist/.
  output: process.env.DTKD_SITE_OUTPUT || "dist",
  title: "DTKD Lab",
  // The sidebar's title link goes to "/".
  home: "DTKD Lab",
  pages: PAGES,
  pager: false,
  toc: false,
  search: false,
  globalStylesheets: [],
  // "/" (src/index.md) forwards to the home page in src/pages/; the relative URL also works under a sub-path.
  head: ({path}: {path: string}) =>
    `<link rel="icon" href="${ICON}">` +
    (path === "/index" ? `\n<meta http-equiv="refresh" content="0; url=./pages/">` : ""),
  style: "style.css",
  footer: "DTKD Lab: diffusion-to-transformer knowledge distillation for super-resolution, as an interactive lab."
};
