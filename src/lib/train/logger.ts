/** JSON-lines training log (one object per line, appended), Node only. */
import {appendFileSync, mkdirSync} from "node:fs";
import {dirname} from "node:path";

export class JsonlLogger {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), {recursive: true});
  }

  write(record: Record<string, unknown>): void {
    appendFileSync(this.path, JSON.stringify({time: new Date().toISOString(), ...record}) + "\n");
  }
}
