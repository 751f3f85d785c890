/**
 * The GAN reference of the evaluation: idealo's RRDN x4 ("image-super-resolution", GAN-trained on DIV2K,
 * Apache-2.0 weights) as shipped by the npm package @upscalerjs/esrgan-legacy 1.0.0 in `models/gans/`
 * (a Keras layers model converted by the TF.js converter, weights quantised to 8 bits).
 *
 * DOM-free and file-system-free: the caller supplies model.json and the weight shards as bytes (Node:
 * rrdn-files.ts; a page would fetch them). TF.js in Node has no file:// loader, hence the small IOHandler.
 *
 * Range convention (read from the package's model definition, `inputRange: [0, 1], outputRange: [0, 1]`, and
 * checked in test/eval.test.ts by PSNR against the ground truth): RGB input in [0, 1], RGB output in [0, 1]
 * (not clipped by the network: clip before measuring). The model is fully convolutional: any LR size works.
 */
import * as tf from "@tensorflow/tfjs";

/** Where the package keeps the model, relative to its root. */
export const RRDN_PACKAGE = "@upscalerjs/esrgan-legacy";
export const RRDN_PACKAGE_VERSION = "1.0.0";
export const RRDN_MODEL_DIR = "models/gans";
export const RRDN_LABEL = "RRDN x4, GAN (idealo ISR, DIV2K; @upscalerjs/esrgan-legacy 1.0.0 models/gans, 8-bit weights)";
export const RRDN_SCALE = 4;

/** The residual scaling of the RRDB blocks in idealo's RRDN (MultiplyBeta: x * 0.2). */
const RRDN_BETA = 0.2;

/** model.json as the TF.js converter writes it (only the fields used here are typed). */
export interface LayersModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: object;
  weightsManifest: {paths: string[]; weights: tf.io.WeightsManifestEntry[]}[];
}

// The two custom Keras layers of idealo's RRDN, registered under the class names model.json uses.
class MultiplyBeta extends tf.layers.Layer {
  static readonly className = "MultiplyBeta";
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.mul(Array.isArray(inputs) ? inputs[0] : inputs, RRDN_BETA);
  }
}

class PixelShuffle4x extends tf.layers.Layer {
  static readonly className = "PixelShuffle4x";
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const mul = (d: number | null) => (d === null ? null : d * RRDN_SCALE);
    return [s[0], mul(s[1]), mul(s[2]), s[3] === null ? null : s[3] / (RRDN_SCALE * RRDN_SCALE)];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    // idealo's layer is tf.nn.depth_to_space (NHWC), which tf.depthToSpace reproduces.
    return tf.depthToSpace((Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D, RRDN_SCALE, "NHWC");
  }
}

let registered = false;

/** Registers the custom layers once per process (the serialization registry is global). */
export function registerRrdnLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(MultiplyBeta);
  tf.serialization.registerClass(PixelShuffle4x);
  registered = true;
}

/**
 * An IOHandler over in-memory artefacts: `shards` maps each path named in the weights manifest to its bytes;
 * shards are concatenated in manifest order, as TF.js's own loaders do.
 */
export function memoryIOHandler(modelJson: LayersModelJson, shards: ReadonlyMap<string, Uint8Array>): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      const parts: Uint8Array[] = [];
      for (const group of modelJson.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) {
          const bytes = shards.get(p);
          if (!bytes) throw new Error(`RRDN: weight shard "${p}" named in model.json was not supplied`);
          parts.push(bytes);
        }
      }
      const total = parts.reduce((s, b) => s + b.byteLength, 0);
      const weightData = new Uint8Array(total);
      let o = 0;
      for (const b of parts) {
        weightData.set(b, o);
        o += b.byteLength;
      }
      return {
        modelTopology: modelJson.modelTopology,
        weightSpecs,
        weightData: weightData.buffer,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy ?? undefined,
      };
    },
  };
}

/** A loaded RRDN: `apply` maps LR [N,h,w,3] in [0,1] to SR [N,4h,4w,3] (not clipped). */
export interface Rrdn {
  model: tf.LayersModel;
  params: number;
  apply(lr: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

/** Builds the model on the current backend (load it again after switching backends). */
export async function loadRrdn(modelJson: LayersModelJson, shards: ReadonlyMap<string, Uint8Array>): Promise<Rrdn> {
  registerRrdnLayers();
  const model = await tf.loadLayersModel(memoryIOHandler(modelJson, shards));
  return {
    model,
    params: model.countParams(),
    apply: (lr) => tf.tidy(() => model.predict(lr) as tf.Tensor4D),
    dispose: () => model.dispose(),
  };
}
