// The curated list behind data/manifest.json: which files of which Debian package are photographs, their
// author and licence as the package's copyright file (or, where that is silent, the package's own docs) states
// them, their split, and why everything else was left out. Every candidate image was looked at.
// build-manifest.ts turns this into data/manifest.json (adding sha256, sizes and JPEG quality estimates).
//
// Split rule: by image. Test = the committed set in data/test/ (public domain, CC0 and CC-BY only, so it may
// live in the repository). Validation = two photographs per wallpaper package (chosen for variety of content).
// Training = every other photograph. Wallpapers are downscaled by 2 (antialiased) before use as ground truth:
// they are JPEG-compressed at quality 70-99 (estimated from their quantisation tables, see the manifest) and
// soft at full size; the scientific sample images (300-640 px) are used as they are.

export type Split = "train" | "val" | "test";

export interface SelectedImage {
  id: string;
  package: string;
  /** Path inside the package (as extracted by dpkg-deb -x), without a leading slash. */
  path: string;
  split: Split;
  title: string;
  author: string;
  licence: string;
  licenceUrl?: string;
  /** Where the licence statement was read. */
  licenceEvidence: string;
  /** Downscale factor before use as ground truth (1 = as is). */
  downscale: 1 | 2;
  /** Test set only: the committed file under data/test/. */
  committed?: string;
  /** Test set only: how the committed file differs from the packaged one, if it does. */
  modifications?: string;
  note?: string;
}

export interface ExcludedImage {
  package: string;
  /** A path or a glob-like description of several paths. */
  path: string;
  reason: string;
}

export const PACKAGES = [
  "lomiri-wallpapers-16.04",
  "lomiri-wallpapers-20.04",
  "plasma-workspace-wallpapers",
  "mate-backgrounds",
  "lxqt-themes",
  "python3-skimage",
  "python3-sklearn",
  "python-matplotlib-data",
] as const;

const LOMIRI = "usr/share/backgrounds";
const PLASMA = "usr/share/wallpapers";
const MATE = "usr/share/backgrounds/mate/nature";
const LXQT = "usr/share/lxqt/wallpapers";
const SKIMAGE = "usr/lib/python3/dist-packages/skimage/data";
const SKLEARN = "usr/lib/python3/dist-packages/sklearn/datasets/images";
const MPL = "usr/share/matplotlib/mpl-data/sample_data";

const LOMIRI_EVIDENCE = "usr/share/doc/lomiri-wallpapers-16.04/copyright (per-file stanza)";
const LOMIRI20_EVIDENCE = "usr/share/doc/lomiri-wallpapers-20.04/copyright (per-file stanza)";
const CC_BY_4 = "https://creativecommons.org/licenses/by/4.0/";
const CC_BY_SA_4 = "https://creativecommons.org/licenses/by-sa/4.0/";
const CC0 = "https://creativecommons.org/publicdomain/zero/1.0/";
const SKIMAGE_EVIDENCE = (fn: string) => `skimage/data/_fetchers.py, ${fn}() docstring (the package's copyright file covers only the code)`;

function lomiri(
  file: string,
  split: Split,
  title: string,
  author: string,
  licence: "CC0-1.0" | "CC-BY-4.0" | "CC-BY-SA-4.0",
  extra: Partial<SelectedImage> = {},
): SelectedImage {
  const base = file.replace(/\.jpg$/, "");
  return {
    id: `lomiri16-${base.split("_by_")[0].toLowerCase()}`,
    package: "lomiri-wallpapers-16.04",
    path: `${LOMIRI}/${file}`,
    split,
    title,
    author,
    licence,
    licenceUrl: licence === "CC0-1.0" ? CC0 : licence === "CC-BY-4.0" ? CC_BY_4 : CC_BY_SA_4,
    licenceEvidence: LOMIRI_EVIDENCE,
    downscale: 2,
    ...extra,
  };
}

function plasma(dir: string, file: string, split: Split, title: string, author: string): SelectedImage {
  return {
    id: `plasma-${dir.toLowerCase()}`,
    package: "plasma-workspace-wallpapers",
    path: `${PLASMA}/${dir}/contents/images/${file}`,
    split,
    title,
    author,
    licence: "LGPL-3.0",
    licenceEvidence: `${PLASMA}/${dir}/metadata.json ("License": "LGPLv3"); the package copyright file says GPL-2+ for Files: *`,
    downscale: 2,
    note: "largest of the packaged resolutions",
  };
}

function mate(file: string, split: Split, author: string): SelectedImage {
  return {
    id: `mate-${file.replace(/\.jpg$/, "").toLowerCase()}`,
    package: "mate-backgrounds",
    path: `${MATE}/${file}`,
    split,
    title: file.replace(/\.jpg$/, ""),
    author,
    licence: "GPL-2.0-or-later",
    licenceEvidence: "usr/share/doc/mate-backgrounds/copyright (per-file stanza)",
    downscale: 2,
  };
}

function lxqt(file: string, split: Split, title: string, author = "LXQt/Razor team (per copyright file, Files: *)"): SelectedImage {
  return {
    id: `lxqt-${file.replace(/\.(jpg|png)$/, "").toLowerCase()}`,
    package: "lxqt-themes",
    path: `${LXQT}/${file}`,
    split,
    title,
    author,
    licence: "LGPL-2.1-or-later",
    licenceEvidence: "usr/share/doc/lxqt-themes/copyright (Files: *)",
    downscale: 2,
  };
}

function skimage(file: string, title: string, author: string, licence: string, fn: string, extra: Partial<SelectedImage> = {}): SelectedImage {
  return {
    id: `skimage-${file.replace(/\.(jpg|png)$/, "")}`,
    package: "python3-skimage",
    path: `${SKIMAGE}/${file}`,
    split: "test",
    title,
    author,
    licence,
    licenceUrl: licence === "CC0-1.0" ? CC0 : "https://creativecommons.org/publicdomain/mark/1.0/",
    licenceEvidence: SKIMAGE_EVIDENCE(fn),
    downscale: 1,
    committed: `data/test/${file}`,
    modifications: "none (byte-identical copy of the packaged file)",
    ...extra,
  };
}

export const SELECTED: SelectedImage[] = [
  // ---- lomiri-wallpapers-16.04: 14 photographs (umang is a render)
  lomiri("seeding_by_Clements_Engelhardt.jpg", "test", "Seeding (dandelions)", "Clemens Engelhardt", "CC0-1.0", {
    committed: "data/test/seeding_by_Clements_Engelhardt.jpg",
    modifications: "none (byte-identical copy of the packaged file)",
  }),
  lomiri("Wine_by_Jakkub_Mede.jpg", "test", "Wine (room with drum and wine)", "Jakub Mede", "CC-BY-4.0", {
    committed: "data/test/Wine_by_Jakkub_Mede.jpg",
    modifications: "none (byte-identical copy of the packaged file)",
  }),
  lomiri("friends_by_Aitzol_Berasategi.jpg", "test", "Friends (two dogs at a window)", "Aitzol Berasategi", "CC-BY-4.0", {
    committed: "data/test/friends_by_Aitzol_Berasategi.jpg",
    modifications: "none (byte-identical copy of the packaged file)",
  }),
  lomiri("picosdeeuropa_by_Aitzol_Berasategi.jpg", "val", "Picos de Europa", "Aitzol Berasategi", "CC-BY-4.0"),
  lomiri("Dragonfly_by_Bolly.jpg", "val", "Dragonfly", '"Bolly"', "CC-BY-SA-4.0"),
  lomiri("aitzgorri_by_Aitzol_Berasategi.jpg", "train", "Aitzgorri", "Aitzol Berasategi", "CC-BY-4.0"),
  lomiri("life_by_Aitzol_Berasategi.jpg", "train", "Life (forest stream)", "Aitzol Berasategi", "CC-BY-4.0"),
  lomiri("sunset_by_Aitzol_Berasategi.jpg", "train", "Sunset", "Aitzol Berasategi", "CC-BY-4.0"),
  lomiri("Picture_0B_by_freespace.jpg", "train", "Fig in a red bowl", 'Trevor "Freespace"', "CC-BY-4.0"),
  lomiri("Picture_1A_by_freespace.jpg", "train", "Paint brushes", 'Trevor "Freespace"', "CC-BY-4.0"),
  lomiri("Bridge_by_Sander_Klootwijk.jpg", "train", "Bridge cables", "Sander Klootwijk", "CC-BY-SA-4.0"),
  lomiri("analogpattern_by_Peter_Nerlich.jpg", "train", "Analog pattern (surface texture, colour-graded)", "Peter Nerlich", "CC-BY-SA-4.0"),
  lomiri("free_by_Peter_Nerlich.jpg", "train", "Free (bird ornament under lamps)", "Peter Nerlich", "CC-BY-SA-4.0"),
  lomiri("greentock_by_Peter_Nerlich.jpg", "train", "Green tock (wall clock)", "Peter Nerlich", "CC-BY-SA-4.0"),

  // ---- lomiri-wallpapers-20.04: 1 photograph
  {
    id: "lomiri20-kleiber",
    package: "lomiri-wallpapers-20.04",
    path: `${LOMIRI}/Kleiber_by_Lukas_Baubkus.jpg`,
    split: "train",
    title: "Kleiber (nuthatch on a tree trunk)",
    author: "Lukas Baubkus",
    licence: "CC-BY-SA-3.0",
    licenceUrl: "https://creativecommons.org/licenses/by-sa/3.0/",
    licenceEvidence: LOMIRI20_EVIDENCE,
    downscale: 2,
  },

  // ---- plasma-workspace-wallpapers: 11 photographs (the rest are renders and drawings)
  plasma("EveningGlow", "2560x1600.jpg", "val", "Evening Glow (rowing boats)", "Ian Hex"),
  plasma("OneStandsOut", "2560x1600.jpg", "val", "One Stands Out (moss)", "Risto Saukonpää"),
  plasma("BytheWater", "2560x1600.jpg", "train", "By the water (jetty planks)", "Maciej Wiklo"),
  plasma("ColdRipple", "2560x1600.jpg", "train", "Cold Ripple (jetty in fog)", "Risto Saukonpää"),
  plasma("ColorfulCups", "2560x1600.jpg", "train", "Colorful Cups", "Dmitri Popov"),
  plasma("DarkestHour", "2560x1600.jpg", "train", "Darkest Hour (lake at dusk)", "Risto Saukonpää"),
  plasma("FallenLeaf", "2560x1600.jpg", "train", "Fallen Leaf", "Martin Klapetek"),
  plasma("Grey", "2560x1600.jpg", "train", "Grey (facade, greyscale)", "Sigi Sagi"),
  plasma("Kite", "2560x1600.jpg", "train", "Kite (sky)", "Risto Saukonpää"),
  plasma("Path", "2560x1600.jpg", "train", "Path (forest)", "Risto Saukonpää"),
  plasma("summer_1am", "2560x1600.jpg", "train", "summer 1am (lake)", "Risto Saukonpää"),

  // ---- mate-backgrounds: the 12 nature photographs
  mate("LadyBird.jpg", "val", "Charles Barbin"),
  mate("Dune.jpg", "val", "Marco Cogoni, Hylke Bons"),
  mate("Aqua.jpg", "train", "Charles Barbin"),
  mate("Blinds.jpg", "train", "Lennart Poettering, Andrea Cimitan"),
  mate("FreshFlower.jpg", "train", "Jens Ansorg"),
  mate("Garden.jpg", "train", "Charles Barbin"),
  mate("GreenMeadow.jpg", "train", "Timothy Schellhase, Lapo Calamandrei"),
  mate("RainDrops.jpg", "train", '"blackcombwhistler07"'),
  mate("Storm.jpg", "train", "Sergey Nazarov"),
  mate("TwoWings.jpg", "train", "Charles Barbin, Hylke Bons"),
  mate("Wood.jpg", "train", "Jean-François Fortin Tam"),
  mate("YellowFlower.jpg", "train", "Charles Barbin"),

  // ---- lxqt-themes: 11 photographs
  lxqt("fog.jpg", "val", "Fog"),
  lxqt("after-the-rain.jpg", "val", "After the rain"),
  lxqt("Butterfly-Kenneth-Wimer.jpg", "train", "Butterfly", "Kenneth Wimer (file name); LXQt/Razor team per copyright file"),
  lxqt("Valendas.png", "train", "Valendas (mountains)"),
  lxqt("appleflower.png", "train", "Apple flower"),
  lxqt("beam.png", "train", "Beam (light through clouds)"),
  lxqt("butterfly.png", "train", "Butterfly on a flower"),
  lxqt("cloud.png", "train", "Clouds"),
  lxqt("drop.png", "train", "Drop on a grass blade"),
  lxqt("flowers.png", "train", "Meadow flowers"),
  lxqt("this-is-not-windows.jpg", "train", "Hills"),

  // ---- scientific sample images: committed test set
  skimage("astronaut.png", "Astronaut Eileen Collins", "NASA", "Public domain", "astronaut", {
    modifications:
      "re-encoded losslessly (pixel-identical 8-bit RGB) without metadata, 791,555 -> 424,976 bytes; same file as data/photos/astronaut.png",
  }),
  skimage("rocket.jpg", "SpaceX Falcon 9 launch", "SpaceX", "Public domain", "rocket"),
  skimage("chelsea.png", "Chelsea the cat", "Stefan van der Walt", "CC0-1.0", "chelsea"),
  skimage("coffee.png", "Coffee cup", "Rachel Michetti (courtesy of Pikolo Espresso Bar)", "CC0-1.0", "coffee"),
  skimage("camera.png", "Cameraman (greyscale)", "Lav Varshney", "CC0-1.0", "camera"),
  skimage("brick.png", "Brick wall texture (greyscale)", "CC0Textures (Bricks25)", "CC0-1.0", "brick"),
  skimage("grass.png", "Grass texture (greyscale)", "CC0Textures", "CC0-1.0", "grass"),
  skimage("gravel.png", "Gravel texture (greyscale)", "CC0Textures (Gravel04)", "CC0-1.0", "gravel"),
  {
    id: "sklearn-china",
    package: "python3-sklearn",
    path: `${SKLEARN}/china.jpg`,
    split: "test",
    title: "Chinese temple",
    author: "danielbuechele (Flickr)",
    licence: "CC-BY-2.0",
    licenceUrl: "https://creativecommons.org/licenses/by/2.0/",
    licenceEvidence: "sklearn/datasets/images/README.txt",
    downscale: 1,
    committed: "data/test/china.jpg",
    modifications: "none (byte-identical copy of the packaged file)",
  },
  {
    id: "sklearn-flower",
    package: "python3-sklearn",
    path: `${SKLEARN}/flower.jpg`,
    split: "test",
    title: "Flower",
    author: "README says danielbuechele; the source link is the Flickr stream of vultilion",
    licence: "CC-BY-2.0",
    licenceUrl: "https://creativecommons.org/licenses/by/2.0/",
    licenceEvidence: "sklearn/datasets/images/README.txt",
    downscale: 1,
    committed: "data/test/flower.jpg",
    modifications: "none (byte-identical copy of the packaged file)",
  },
  {
    id: "mpl-grace_hopper",
    package: "python-matplotlib-data",
    path: `${MPL}/grace_hopper.jpg`,
    split: "test",
    title: "Commodore Grace M. Hopper, USN",
    author: "James S. Davis, U.S. Navy (official portrait, 1984)",
    licence: "Public domain",
    licenceUrl: "https://creativecommons.org/publicdomain/mark/1.0/",
    licenceEvidence:
      "not stated per file in the package (copyright file, Files: *); a work of the U.S. federal government (official U.S. Navy portrait), public domain in the U.S.",
    downscale: 1,
    committed: "data/test/grace_hopper.jpg",
    modifications: "none (byte-identical copy of the packaged file)",
  },
];

export const EXCLUDED: ExcludedImage[] = [
  {package: "lomiri-wallpapers-16.04", path: `${LOMIRI}/umang_by_Abhishek_Mudgal.jpg`, reason: "render (colour gradients), not a photograph"},
  {package: "lomiri-wallpapers-20.04", path: `${LOMIRI}/Fossa_by_Jasper_Roks.jpg`, reason: "render"},
  {package: "lomiri-wallpapers-20.04", path: `${LOMIRI}/Infinite-Sea_by_Aury88.jpg`, reason: "composite: an astrophotograph over a rendered polygon sky and a synthetic reflection"},
  {package: "lomiri-wallpapers-20.04", path: `${LOMIRI}/Painting-Colors_by__herobrine7gamer.jpg`, reason: "drawing (colour bands)"},
  {
    package: "plasma-workspace-wallpapers",
    path: `${PLASMA}/{Altai,Autumn,Canopee,Cascade,Cluster,Elarun,Flow,FlyingKonqui,Honeywave,IceCold,Kay,Kokkini,MilkyWay,Opal,PastelHills,Patak,SafeLanding,Shell,Volna}/**`,
    reason: "renders, drawings and paintings",
  },
  {package: "plasma-workspace-wallpapers", path: `${PLASMA}/*/contents/images/<smaller sizes>`, reason: "the same photograph at lower resolutions"},
  {package: "mate-backgrounds", path: "usr/share/backgrounds/mate/{abstract,desktop}/**", reason: "renders, drawings, a painting (Elephants) and blurred abstracts (Ubuntu-Mate-*)"},
  {
    package: "lxqt-themes",
    path: `${LXQT}/{kde-plasma,lxqt-origami-green,origami-*,plasma-logo-*,plasma_arch,simple_blue_widescreen,triangles*,waves-*}.*`,
    reason: "renders with logos",
  },
  {package: "lxqt-themes", path: "usr/share/lxqt/themes/**", reason: "theme graphics"},
  {
    package: "python3-skimage",
    path: `${SKIMAGE}/{page,text,bw_text,clock_motion,coins,moon,hubble_deep_field,retina,ihc,cell,horse,logo,motorcycle_*,phantom,...}`,
    reason: "documents, synthetic images, microscopy/medical/astronomical images, deliberate motion blur, or no licence statement in the package",
  },
  {package: "python-matplotlib-data", path: `${MPL}/{Minduka_Present_Blue_Pack,logo2}.png`, reason: "drawings"},
];
