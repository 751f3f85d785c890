/**
 * Finest-level Haar detail statistics on the luma (BT.601) of image batches, for telling texture from grain
 * during training (NOTES 7: energy alone rewards white noise; Gaussian grain has kurtosis 3, photographic
 * detail much higher). Plain JS on [N,H,W,3] data, H and W even.
 */
export interface BandStats {
  /** Sum of squares of the LH1, HL1, HH1 coefficients over the batch. */
  energy: [number, number, number];
  /** Pooled kurtosis (m4 / m2^2, not excess) of LH1, HL1, HH1. */
  kurtosis: [number, number, number];
}

export function haarDetailStats(data: Float32Array, n: number, h: number, w: number): BandStats {
  const s2 = [0, 0, 0];
  const s4 = [0, 0, 0];
  let count = 0;
  const y = (b: number, r: number, c: number) => {
    const i = ((b * h + r) * w + c) * 3;
    return 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
  };
  for (let b = 0; b < n; b++)
    for (let r = 0; r + 1 < h; r += 2)
      for (let c = 0; c + 1 < w; c += 2) {
        const a = y(b, r, c);
        const bb = y(b, r, c + 1);
        const cc = y(b, r + 1, c);
        const d = y(b, r + 1, c + 1);
        const bands = [(a + bb - cc - d) / 2, (a - bb + cc - d) / 2, (a - bb - cc + d) / 2];
        for (let k = 0; k < 3; k++) {
          const v2 = bands[k] * bands[k];
          s2[k] += v2;
          s4[k] += v2 * v2;
        }
        count++;
      }
  const kurt = (k: number) => (s2[k] > 0 ? (s4[k] / count) / (s2[k] / count) ** 2 : NaN);
  return {energy: [s2[0], s2[1], s2[2]], kurtosis: [kurt(0), kurt(1), kurt(2)]};
}
