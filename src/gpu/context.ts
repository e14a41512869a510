// The WebGPU execution context: records dispatches into one command encoder and submits them together, owns the
// buffer pool, the pipeline and bind-group caches, the per-dispatch parameter arena and the counters.
// One code path for the page, Web Workers and Node.

import type { DType, Tensor } from '../tensor/backend';
import { decodeF16, encodeF16 } from '../tensor/half';
import { BufferPool } from './buffers';
import { addLive, type GpuCounters, newCounters } from './counters';
import type { AcquiredDevice } from './device';
import { DeviceLostError, GpuOutOfMemoryError, GpuValidationError, ShaderCompileError } from './errors';
import { KernelProfiler, type KernelTime } from './profiler';
import { composeShader, type ShaderSource } from './shader';

/** A tensor whose storage is a (pooled) GPU buffer, or, beyond the binding limit, several: row-range parts, each
 * a tensor of its own within the limit. Binding a parted tensor's `buffer` throws GpuOutOfMemoryError. */
export interface GpuTensor extends Tensor {
  readonly buffer: GPUBuffer;
  readonly parts?: readonly GpuTensorPart[];
}

interface GpuTensorPart {
  tensor: GpuTensor;
  /** First row (of the first dimension) and row count. */
  start: number;
  rows: number;
}

/** A range of one buffer holding elements of a tensor: elements elemOffset .. of `tensor` (the tensor or one of
 * its parts), at byteOffset of f32/i32 storage. */
interface Segment {
  tensor: GpuTensor;
  buffer: GPUBuffer;
  byteOffset: number;
  elemOffset: number;
  elems: number;
}

/** Scalar parameters of one dispatch, in the order of the shader's `Params` struct: 'u' = u32, 'i' = i32, 'f' = f32. */
export type ParamFormat = string;

export interface DispatchSpec {
  shader: ShaderSource;
  entry: string;
  /** Storage bindings by binding number (index 0 is reserved for the params uniform). Holes are skipped. */
  bindings: (GPUBuffer | GpuTensor | undefined)[];
  params?: { format: ParamFormat; values: readonly number[] };
  workgroups: readonly [number, number?, number?];
  defines?: Record<string, string | number>;
}

/** Bytes per dispatch in the params arena: minUniformBufferOffsetAlignment is at most 256. */
const PARAM_SLOT = 256;
// GPUBufferUsage values from the spec, so this module does not need the global (absent in Node until installed).
const USAGE = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, UNIFORM: 0x0040, STORAGE: 0x0080 } as const;
const STORAGE_USAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;

export class GpuContext {
  readonly device: GPUDevice;
  readonly info: AcquiredDevice['info'];
  readonly counters: GpuCounters = newCounters();
  readonly limits: GPUSupportedLimits;
  /** Largest tensor in bytes the engine binds (see AcquiredDevice.bindingLimit). */
  readonly bindingLimit: number;
  /** The device has 'shader-f16' (AcquiredDevice.shaderF16). */
  readonly shaderF16: boolean;
  /** Logs composed shader sources and every dispatch's entry point and grid. */
  debug = false;
  /** Row kernels (LayerNorm, cross-entropy) run one invocation per row instead of a workgroup tree reduction. On a
   * CPU-emulated adapter a barrier suspends every invocation of the group, so the tree cost ~60% of a tiny GPT-2
   * step on SwiftShader (kernel profile in bench/results); real GPUs keep the parallel reduction. Settable for tests. */
  barrierFree: boolean;

  private readonly pool: BufferPool;
  /** Scratch buffers created by scratch(), destroyed by dropScratch(). */
  private readonly transient = new WeakSet<GPUBuffer>();
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private readonly pipelineIds = new WeakMap<GPUComputePipeline, number>();

  private arena: GPUBuffer;
  private arenaHost: ArrayBuffer;
  private arenaLast: Uint8Array = new Uint8Array(0);
  private arenaCursor = 0;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private profiler: KernelProfiler | null = null;
  private pendingErrors: Promise<GPUError | null>[] = [];
  private lostError: DeviceLostError | null = null;
  private readonly compileErrors: ShaderCompileError[] = [];

  constructor(acquired: AcquiredDevice) {
    this.device = acquired.device;
    this.info = acquired.info;
    this.limits = acquired.device.limits;
    this.bindingLimit = acquired.bindingLimit;
    this.shaderF16 = acquired.shaderF16;
    this.barrierFree =
      acquired.info.isFallback ||
      /swiftshader|llvmpipe|lavapipe|warp/i.test(`${acquired.info.architecture} ${acquired.info.description}`);
    this.pool = new BufferPool(this.device, this.counters);
    // 2048 slots (512 KiB) hold a GPT-2-small full fine-tuning step; a larger step grows it once, during warm-up.
    this.arenaHost = new ArrayBuffer(2048 * PARAM_SLOT);
    this.arena = this.createArena(this.arenaHost.byteLength);
    void this.device.lost.then((info) => {
      this.lostError = new DeviceLostError(info.reason, info.message || 'no message');
    });
  }

  /** Rejects with DeviceLostError once the device is gone (so a trainer can recover). */
  get lost(): Promise<DeviceLostError> {
    return this.device.lost.then(() => this.lostError ?? new DeviceLostError('unknown', ''));
  }

  isLost(): boolean {
    return this.lostError !== null;
  }

  // ---------------------------------------------------------------- tensors

  tensor(shape: readonly number[], dtype: DType = 'f32', label = 'tensor', zero = true): GpuTensor {
    this.assertAlive();
    const size = shape.reduce((a, b) => a * b, 1);
    const bytes = storageBytes(dtype, size);
    if (bytes > this.bindingLimit) return this.partedTensor(shape, dtype, label, zero);
    const { buffer, reused } = this.pool.acquire(bytes, STORAGE_USAGE, label);
    if (reused && zero) {
      this.endPass();
      this.ensureEncoder().clearBuffer(buffer);
    }
    return { shape: [...shape], size, dtype, label, buffer };
  }

  /** A tensor beyond the binding limit as row-range parts of at most the limit each; a row wider than the limit is
   * refused with GpuOutOfMemoryError. */
  private partedTensor(shape: readonly number[], dtype: DType, label: string, zero: boolean): GpuTensor {
    const size = shape.reduce((a, b) => a * b, 1),
      bytes = storageBytes(dtype, size),
      rows = shape.length ? shape[0] : 1,
      width = size / Math.max(rows, 1);
    // Rows per part: as many as fit the limit in the dtype's storage (f16: two per word, an odd count padded).
    let per = Math.floor(this.bindingLimit / ((dtype === 'f16' ? 2 : 4) * width));
    if (per > 0 && storageBytes(dtype, per * width) > this.bindingLimit) per--;
    const refuse = (what: string) =>
      new GpuOutOfMemoryError(
        bytes,
        `tensor ${label} of ${bytes} bytes exceeds the storage binding limit of ${this.bindingLimit} bytes${what}`,
      );
    if (per < 1 || shape.length === 0) throw refuse(' (one row of it does not fit)');
    const parts: GpuTensorPart[] = [];
    for (let start = 0; start < rows; start += per) {
      const n = Math.min(per, rows - start);
      parts.push({ tensor: this.tensor([n, ...shape.slice(1)], dtype, `${label} [${start}..]`, zero), start, rows: n });
    }
    const t = { shape: [...shape], size, dtype, label, parts };
    Object.defineProperty(t, 'buffer', {
      get() {
        throw refuse(`: it is stored in ${parts.length} parts, and this op takes whole tensors only`);
      },
    });
    return t as unknown as GpuTensor;
  }

  /** An f32 scratch tensor of `size` elements for work between steps (kernel tuning): a free pooled buffer that is
   * large enough when there is one, else a new buffer that dropScratch destroys, so the pool does not keep it. */
  scratch(size: number, label: string): GpuTensor {
    this.assertAlive();
    const buffer = this.pool.borrow(size * 4, STORAGE_USAGE, label);
    if (buffer) return { shape: [size], size, dtype: 'f32', label, buffer };
    const t = this.tensor([size], 'f32', label, false);
    this.transient.add(t.buffer);
    return t;
  }

  /** Returns a scratch tensor: a borrowed buffer to the pool, a new one destroyed (after the work recorded so far). */
  dropScratch(t: GpuTensor): void {
    if (!this.transient.delete(t.buffer)) {
      this.pool.release(t.buffer);
      return;
    }
    this.flush();
    this.pool.discard(t.buffer);
  }

  release(t: GpuTensor): void {
    if (t.parts) for (const p of t.parts) this.release(p.tensor);
    else this.pool.release(t.buffer);
  }

  /** The buffers and byte ranges holding elements [offset, offset + count) of t, in order. */
  private segments(t: GpuTensor, offset: number, count: number): Segment[] {
    if (!t.parts) return [{ tensor: t, buffer: t.buffer, byteOffset: offset * 4, elemOffset: offset, elems: count }];
    const out: Segment[] = [];
    const width = t.size / t.shape[0];
    for (const p of t.parts) {
      const lo = p.start * width,
        hi = lo + p.rows * width,
        a = Math.max(lo, offset),
        b = Math.min(hi, offset + count);
      if (a < b) {
        out.push({
          tensor: p.tensor,
          buffer: p.tensor.buffer,
          byteOffset: (a - lo) * 4,
          elemOffset: a - lo,
          elems: b - a,
        });
      }
    }
    return out;
  }

  write(t: GpuTensor, data: Float32Array | Int32Array, offsetElements = 0): void {
    this.assertAlive();
    // Writes land on the queue before any recorded-but-unsubmitted work; submit that work first to keep program order.
    if (this.encoder) this.flush();
    let done = 0;
    for (const s of this.segments(t, offsetElements, data.length)) {
      const part = data.subarray(done, done + s.elems);
      if (t.dtype === 'f16') {
        // Each part packs its own halves from its element 0 (a part is a tensor of its own).
        const packed = packF16(s.tensor, part, s.elemOffset);
        this.device.queue.writeBuffer(s.buffer, s.elemOffset * 2, packed.buffer, 0, packed.byteLength);
      } else {
        this.device.queue.writeBuffer(s.buffer, s.byteOffset, data.buffer, data.byteOffset + done * 4, s.elems * 4);
      }
      done += s.elems;
      this.counters.writes++;
    }
  }

  /** Copies a tensor back to the host. Counted: the training step itself never calls this. */
  async read(t: GpuTensor): Promise<Float32Array | Int32Array> {
    if (t.parts) {
      const out = t.dtype === 'i32' ? new Int32Array(t.size) : new Float32Array(t.size);
      const width = t.size / t.shape[0];
      for (const p of t.parts) out.set(await this.read(p.tensor), p.start * width);
      return out;
    }
    this.assertAlive();
    const bytes = storageBytes(t.dtype, t.size);
    const { buffer: staging } = this.pool.acquire(bytes, USAGE.MAP_READ | USAGE.COPY_DST, `readback ${t.label}`);
    this.endPass();
    this.ensureEncoder().copyBufferToBuffer(t.buffer, 0, staging, 0, bytes);
    this.flush();
    this.counters.readbacks++;
    this.counters.bytesRead += bytes;
    try {
      await staging.mapAsync(USAGE.MAP_READ, 0, bytes);
    } catch (e) {
      // A lost device rejects the map before its `lost` promise has settled: wait briefly so the caller gets the
      // typed DeviceLostError it can recover from rather than a bare AbortError.
      const lost = await Promise.race([this.lost, new Promise<null>((r) => setTimeout(() => r(null), 2000))]);
      if (lost) throw lost;
      await this.sync();
      throw e;
    }
    const copy = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    this.pool.release(staging);
    await this.sync();
    if (t.dtype === 'f16') return decodeF16(new Uint16Array(copy, 0, t.size));
    return t.dtype === 'i32' ? new Int32Array(copy) : new Float32Array(copy);
  }

  copy(dst: GpuTensor, src: GpuTensor, count = src.size, srcOffset = 0, dstOffset = 0): void {
    if (dst.dtype === 'f16' || src.dtype === 'f16')
      throw new GpuValidationError(`copy: ${src.label} -> ${dst.label}: f16 weights cannot be copied element-wise`);
    this.endPass();
    const enc = this.ensureEncoder();
    if (!src.parts && !dst.parts) {
      enc.copyBufferToBuffer(src.buffer, srcOffset * 4, dst.buffer, dstOffset * 4, count * 4);
      return;
    }
    // Walk both tensors' segments together, one copy per overlap.
    const ss = this.segments(src, srcOffset, count),
      ds = this.segments(dst, dstOffset, count);
    let i = 0,
      j = 0,
      si = 0,
      dj = 0;
    while (i < ss.length && j < ds.length) {
      const n = Math.min(ss[i].elems - si, ds[j].elems - dj);
      enc.copyBufferToBuffer(ss[i].buffer, ss[i].byteOffset + si * 4, ds[j].buffer, ds[j].byteOffset + dj * 4, n * 4);
      si += n;
      dj += n;
      if (si === ss[i].elems) [i, si] = [i + 1, 0];
      if (dj === ds[j].elems) [j, dj] = [j + 1, 0];
    }
  }

  clear(t: GpuTensor): void {
    if (t.parts) {
      for (const p of t.parts) this.clear(p.tensor);
      return;
    }
    this.endPass();
    this.ensureEncoder().clearBuffer(t.buffer);
  }

  // ---------------------------------------------------------------- dispatch

  /** Records one compute dispatch; nothing runs until flush(). */
  dispatch(spec: DispatchSpec): void {
    this.assertAlive();
    const pipeline = this.pipeline(spec.shader, spec.entry, spec.defines);
    let slot = -1;
    if (spec.params) slot = this.writeParams(spec.params.format, spec.params.values);
    const bindGroup = this.bindGroup(pipeline, spec, slot);
    if (this.profiler) {
      // One pass per dispatch, so its begin/end timestamps bracket exactly this kernel.
      this.endPass();
      this.pass = this.ensureEncoder().beginComputePass(this.profiler.passFor(`${spec.shader.name}.${spec.entry}`));
    }
    const pass = this.ensurePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = spec.workgroups;
    const maxDim = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxDim || y > maxDim || z > maxDim) {
      throw new GpuValidationError(
        `${spec.shader.name}.${spec.entry}: grid ${x}x${y}x${z} exceeds ${maxDim} per dimension`,
      );
    }
    if (x === 0 || y === 0 || z === 0) return;
    pass.dispatchWorkgroups(x, y, z);
    this.counters.dispatches++;
    if (this.debug) console.debug(`[dynrank gpu] dispatch ${spec.shader.name}.${spec.entry} grid=${x}x${y}x${z}`);
  }

  /** Submits everything recorded since the last flush as one queue submission. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    this.profiler?.resolve(this.encoder);
    if (this.arenaCursor > 0) {
      const bytes = new Uint8Array(this.arenaHost, 0, this.arenaCursor);
      if (!sameBytes(bytes, this.arenaLast)) {
        this.device.queue.writeBuffer(this.arena, 0, this.arenaHost, 0, this.arenaCursor);
        this.arenaLast = bytes.slice();
        this.counters.writes++;
      }
    }
    this.device.queue.submit([this.encoder.finish({ label: 'dynrank step' })]);
    this.counters.submissions++;
    this.encoder = null;
    this.arenaCursor = 0;
    this.pendingErrors.push(this.device.popErrorScope(), this.device.popErrorScope());
  }

  /** Submits pending work and turns any GPU error raised by it into a typed exception. */
  async sync(): Promise<void> {
    this.flush();
    const errs = this.pendingErrors;
    this.pendingErrors = [];
    // Error scopes resolve once their submission has been validated; callers that need results read them back.
    const results = await Promise.all(errs);
    this.assertAlive();
    if (this.compileErrors.length) throw this.compileErrors.shift()!;
    for (const e of results) {
      if (!e) continue;
      if (
        (e as { constructor: { name: string } }).constructor.name === 'GPUOutOfMemoryError' ||
        /out of memory/i.test(e.message)
      ) {
        throw new GpuOutOfMemoryError(this.counters.bytesLive, e.message);
      }
      throw new GpuValidationError(e.message);
    }
  }

  /** Starts timing every dispatch with timestamp queries (needs the adapter's 'timestamp-query' feature). */
  startProfile(capacity?: number): void {
    this.flush();
    this.profiler?.destroy();
    this.profiler = new KernelProfiler(this.device, capacity);
  }

  /** Submits pending work, stops profiling and returns GPU milliseconds per kernel, slowest first. */
  async stopProfile(): Promise<KernelTime[]> {
    const prof = this.profiler;
    if (!prof) throw new Error('stopProfile() without startProfile()');
    this.flush();
    this.profiler = null;
    const times = await prof.read();
    prof.destroy();
    return times;
  }

  /** Frees pooled buffers that no tensor uses. */
  trim(): void {
    this.pool.trim();
  }

  destroy(): void {
    this.encoder = null;
    this.pass = null;
    this.device.destroy();
  }

  // ---------------------------------------------------------------- internals

  private assertAlive(): void {
    if (this.lostError) throw this.lostError;
  }

  private ensureEncoder(): GPUCommandEncoder {
    if (!this.encoder) {
      // Validation and out-of-memory scopes cover exactly one submission; flush() pops them.
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      this.encoder = this.device.createCommandEncoder({ label: 'dynrank encoder' });
    }
    return this.encoder;
  }

  private ensurePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.ensureEncoder().beginComputePass({ label: 'dynrank compute' });
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private createArena(bytes: number): GPUBuffer {
    this.counters.bufferCreations++;
    this.counters.bytesAllocated += bytes;
    addLive(this.counters, bytes);
    return this.device.createBuffer({
      size: bytes,
      usage: USAGE.UNIFORM | USAGE.COPY_DST,
      label: 'dynrank params arena',
    });
  }

  private writeParams(format: ParamFormat, values: readonly number[]): number {
    if (format.length !== values.length)
      throw new Error(`params format ${format} does not match ${values.length} values`);
    if (format.length * 4 > PARAM_SLOT) throw new Error(`too many params (${format.length})`);
    if (this.arenaCursor + PARAM_SLOT > this.arenaHost.byteLength) {
      // Grow once during warm-up; the recorded work so far must see the old arena, so submit it first.
      const grown = new ArrayBuffer(this.arenaHost.byteLength * 2);
      new Uint8Array(grown).set(new Uint8Array(this.arenaHost));
      this.flush();
      this.arenaHost = grown;
      this.arena.destroy();
      this.counters.bytesLive -= this.arenaHost.byteLength / 2;
      this.arena = this.createArena(grown.byteLength);
      this.arenaLast = new Uint8Array(0);
      this.bindGroups.clear();
    }
    const offset = this.arenaCursor;
    const view = new DataView(this.arenaHost, offset, PARAM_SLOT);
    for (let i = 0; i < format.length; i++) {
      const v = values[i];
      switch (format[i]) {
        case 'u':
          view.setUint32(i * 4, v >>> 0, true);
          break;
        case 'i':
          view.setInt32(i * 4, v | 0, true);
          break;
        case 'f':
          view.setFloat32(i * 4, v, true);
          break;
        default:
          throw new Error(`unknown param type ${format[i]}`);
      }
    }
    for (let i = format.length * 4; i < PARAM_SLOT; i += 4) view.setUint32(i, 0, true);
    this.arenaCursor += PARAM_SLOT;
    return offset;
  }

  private pipeline(shader: ShaderSource, entry: string, defines?: Record<string, string | number>): GPUComputePipeline {
    const dkey = defines ? JSON.stringify(defines) : '';
    const key = `${shader.name}|${entry}|${dkey}`;
    let p = this.pipelines.get(key);
    if (p) return p;
    const mkey = `${shader.name}|${dkey}`;
    let module = this.modules.get(mkey);
    if (!module) {
      const code = composeShader(shader, defines);
      if (this.debug) console.debug(`[dynrank gpu] shader ${shader.name}\n${code}`);
      module = this.device.createShaderModule({ code, label: `${shader.name}.wgsl` });
      this.modules.set(mkey, module);
      void module.getCompilationInfo?.().then((info) => {
        const errors = info.messages.filter((m) => m.type === 'error');
        if (errors.length) {
          const msg = errors.map((m) => `${shader.name}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
          this.compileErrors.push(new ShaderCompileError(msg));
        }
      });
    }
    p = this.device.createComputePipeline({
      label: `${shader.name}.${entry}`,
      layout: 'auto',
      compute: { module, entryPoint: entry },
    });
    this.counters.pipelineCreations++;
    this.pipelineIds.set(p, this.pipelines.size + 1);
    this.pipelines.set(key, p);
    return p;
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
    return id;
  }

  private bindGroup(pipeline: GPUComputePipeline, spec: DispatchSpec, slot: number): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = [];
    let key = `${this.pipelineIds.get(pipeline)}@${slot}`;
    if (slot >= 0) entries.push({ binding: 0, resource: { buffer: this.arena, offset: slot, size: PARAM_SLOT } });
    spec.bindings.forEach((b, i) => {
      if (!b || i === 0) return;
      const buffer = 'buffer' in b ? b.buffer : b;
      entries.push({ binding: i, resource: { buffer } });
      key += `,${i}:${this.bufferId(buffer)}`;
    });
    let bg = this.bindGroups.get(key);
    if (bg) return bg;
    if (this.bindGroups.size > 8192) this.bindGroups.clear();
    bg = this.device.createBindGroup({
      label: `${spec.shader.name}.${spec.entry} bindings`,
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    this.counters.bindGroupCreations++;
    this.bindGroups.set(key, bg);
    return bg;
  }
}

/** Bytes of a tensor's buffer: 4 per element, 2 for f16 (two halves per 32-bit word, rounded up to whole words). */
function storageBytes(dtype: DType, size: number): number {
  return dtype === 'f16' ? Math.ceil(size / 2) * 4 : size * 4;
}

/** data as f16 bits to store at element `offset` of t: whole 32-bit words, so the offset must be even and the data
 * must end on a word or at the tensor's end (a final odd element is padded with a zero half). */
function packF16(t: GpuTensor, data: Float32Array | Int32Array, offset: number): Uint16Array {
  const end = offset + data.length;
  if (offset % 2 !== 0 || (end % 2 !== 0 && end !== t.size) || end > t.size) {
    throw new GpuValidationError(
      `write to f16 weight ${t.label}: ${data.length} elements at ${offset} do not cover whole 32-bit words ` +
        `(offset must be even, the end even or the tensor's end, ${t.size})`,
    );
  }
  const bits = new Uint16Array(data.length + (data.length % 2));
  bits.set(encodeF16(data instanceof Float32Array ? data : Float32Array.from(data)));
  return bits;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Workgroup grid for a 1-D kernel of n invocations in 64-wide groups (see common.wgsl `flat_index`). */
/** Grid with one workgroup per row, folded into y when rows exceed the per-dimension limit (row = x + y * nwg.x). */
export function rowGrid(rows: number, maxPerDim = 65535): [number, number] {
  if (rows <= maxPerDim) return [Math.max(rows, 1), 1];
  const y = Math.ceil(rows / maxPerDim);
  return [Math.ceil(rows / y), y];
}

export function grid1d(n: number, maxPerDim = 65535): [number, number] {
  const groups = Math.ceil(n / 64);
  if (groups <= maxPerDim) return [Math.max(groups, 1), 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}
