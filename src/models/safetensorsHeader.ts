// The tensor shapes of a safetensors file from its header alone (the 8-byte length prefix and the JSON header), for
// what needs sizes and no data: the memory plan (`dynrank plan`). The full reader (./safetensorsRead.ts) checks the
// data too.

import { SafetensorsError } from './errors';
import { describe, isIndex, MAX_HEADER_SIZE, METADATA_KEY } from './safetensorsFormat';

const REDO = 'Check that this is a complete, uncorrupted .safetensors file (re-download or re-export it).';

/** Length of the JSON header that follows the 8-byte prefix `first8`. */
export function headerLength(first8: Uint8Array, file: string): number {
  if (first8.length < 8)
    throw new SafetensorsError(
      'HeaderTooSmall',
      file,
      'header length',
      `the file has ${first8.length} bytes, fewer than the 8-byte header length prefix`,
      REDO,
    );
  const dv = new DataView(first8.buffer, first8.byteOffset, 8);
  const lo = dv.getUint32(0, true),
    hi = dv.getUint32(4, true);
  if (hi !== 0 || lo > MAX_HEADER_SIZE)
    throw new SafetensorsError(
      'HeaderTooLarge',
      file,
      'header length',
      `the header length is above the limit of ${MAX_HEADER_SIZE} bytes`,
      REDO,
    );
  return lo;
}

/** Tensor name -> shape, from the header's JSON bytes (what follows the prefix). */
export function headerShapes(header: Uint8Array, file: string): Map<string, number[]> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(header));
  } catch (e) {
    throw new SafetensorsError('InvalidHeaderJson', file, 'header', 'the header is not valid UTF-8 JSON', REDO, {
      cause: e,
    });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new SafetensorsError('InvalidHeaderJson', file, 'header', `the header is ${describe(json)}`, REDO);
  const out = new Map<string, number[]>();
  for (const [name, info] of Object.entries(json)) {
    if (name === METADATA_KEY) continue;
    const shape = (info as { shape?: unknown } | null)?.shape;
    if (!Array.isArray(shape) || !shape.every(isIndex))
      throw new SafetensorsError(
        'InvalidShape',
        file,
        name,
        `tensor "${name}": "shape" is ${describe(shape)}, not an array of non-negative integers`,
        'The header does not describe this tensor correctly; re-export the file.',
      );
    out.set(name, shape);
  }
  return out;
}
