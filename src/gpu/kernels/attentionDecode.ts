// Launchers for shaders/attention_decode.wgsl: attention of new queries over a KV cache, and the cache write. Real GPUs
// get one workgroup per query row (attention_decode_wg, head dim up to MAX_WG_D); CPU-emulated adapters
// (ctx.barrierFree) and wider heads one invocation per row. Neither bounds the number of cached keys.

import code from '../../../shaders/attention_decode.wgsl?raw';
import { checkAttentionDecode, checkKvWrite, decodeKvHeads } from '../../ops/attentionDecode';
import type { AttentionDecodeParams, KvWriteParams } from '../../tensor/backend';
import { type GpuContext, type GpuTensor, grid1d, rowGrid } from '../context';

const shader = { name: 'attention_decode', code };
const FORMAT = 'uuuuuuuuufu';

/** Widest head attention_decode_wg takes: 64 invocations x DPT (4) output channels each. */
const MAX_WG_D = 256;

/** Whether the decode attention runs one workgroup per query row rather than one invocation per row. */
function workgroupDecodeFits(barrierFree: boolean, D: number): boolean {
  return !barrierFree && D <= MAX_WG_D;
}

/** out(B,Tq,H*D) = attention of the Tq new queries over cached keys/values 0..pos+t (AttentionDecodeParams). */
export function attentionDecode(
  ctx: GpuContext,
  out: GpuTensor,
  q: GpuTensor,
  kCache: GpuTensor,
  vCache: GpuTensor,
  p: AttentionDecodeParams,
): void {
  checkAttentionDecode(p, { out: out.size, q: q.size, k: kCache.size, v: vCache.size });
  const rows = p.B * p.H * p.Tq,
    maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  const wg = workgroupDecodeFits(ctx.barrierFree, p.D);
  ctx.dispatch({
    shader,
    entry: wg ? 'attention_decode_wg' : 'attention_decode_forward',
    bindings: [undefined, out, q, kCache, vCache],
    params: {
      format: FORMAT,
      values: [
        p.B,
        p.Tq,
        p.pos,
        p.Tmax,
        p.H,
        p.D,
        p.qStride,
        p.qOffset,
        p.H / decodeKvHeads(p),
        p.scale ?? 1 / Math.sqrt(p.D),
        0,
      ],
    },
    workgroups: wg ? rowGrid(rows, maxDim) : grid1d(rows, maxDim),
  });
}

/** cache[b, pos + t, :] = the new rows of src (KvWriteParams). */
export function kvCacheWrite(ctx: GpuContext, cache: GpuTensor, src: GpuTensor, p: KvWriteParams): void {
  checkKvWrite(p, { cache: cache.size, src: src.size });
  ctx.dispatch({
    shader,
    entry: 'kv_cache_write',
    bindings: [undefined, cache, src],
    params: { format: FORMAT, values: [p.B, p.Tq, p.pos, p.Tmax, 1, 1, p.srcStride, p.srcOffset, 1, 1, p.width] },
    workgroups: grid1d(p.B * p.Tq * p.width, ctx.limits.maxComputeWorkgroupsPerDimension),
  });
}
