/**
 * A one-line progress bar with rate and ETA. On a terminal it redraws in place; otherwise (a log file) it
 * prints a plain line at most every `everyMs` so nohup logs stay readable.
 */
export class ProgressBar {
  private last = 0;
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly everyMs = 30_000,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  /** fraction in [0,1] (NaN: unknown end); etaSeconds may be NaN. */
  update(fraction: number, label: string, etaSeconds: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.last < (this.tty ? 250 : this.everyMs)) return;
    this.last = now;
    const width = 24;
    const f = Number.isFinite(fraction) ? Math.max(0, Math.min(1, fraction)) : 0;
    const filled = Math.round(f * width);
    const bar = "[" + "#".repeat(filled) + "-".repeat(width - filled) + "]";
    const pct = Number.isFinite(fraction) ? `${(f * 100).toFixed(1)}%` : "";
    const line = `${bar} ${pct} ${label} ETA ${formatDuration(etaSeconds)}`;
    if (this.tty) this.out.write(`\r${line}\x1b[K`);
    else this.out.write(line + "\n");
  }

  done(): void {
    if (this.tty) this.out.write("\n");
  }
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(sec).padStart(2, "0")}s`;
}
