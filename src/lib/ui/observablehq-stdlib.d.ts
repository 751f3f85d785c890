// Types for the parts of Observable Framework's client standard library that src/lib/ui/ uses. Framework
// resolves "observablehq:stdlib" when it serves a page; tsc only needs the shapes.
declare module "observablehq:stdlib" {
  export interface AbstractFile {
    readonly name: string;
    readonly href: string;
    url(): Promise<string>;
    arrayBuffer(): Promise<ArrayBuffer>;
    json(): Promise<unknown>;
    text(): Promise<string>;
  }
  /** Framework rewrites each call at build time; the argument must be a literal path relative to the module. */
  export function FileAttachment(name: string): AbstractFile;
}
