// Per-kernel GPU time from timestamp queries: while a profile is on, the context gives every dispatch its own compute
// pass with begin/end timestamps, so the table says where a step's GPU time goes (e.g. attention vs matmuls) on the
// device itself. Off by default: one pass per dispatch and the query resolves are profiling cost, not step cost.

import { GpuValidationError } from './errors';

export interface KernelTime {
  /** shader.entry, e.g. "matmul.matmul_forward". */
  kernel: string;
  count: number;
  ms: number;
}

// WebGPU caps a query set at 4096 queries, two per dispatch: the profiler adds query sets of CHUNK dispatches as the
// profile grows, so a whole step is timed (a Qwen3-0.6B dynamic-rank step dispatches over 4,000 kernels).
const CHUNK = 2048;
const MAX_DISPATCHES = 16 * CHUNK;
const USAGE = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, QUERY_RESOLVE: 0x0200 } as const;

export class KernelProfiler {
  private readonly querySets: GPUQuerySet[] = [];
  private readonly resolveBuf: GPUBuffer;
  private readonly readBuf: GPUBuffer;
  private readonly labels: string[] = [];
  private resolved = 0;

  /** `capacity` dispatches; later ones in the same profile run unrecorded (and are counted in `dropped`). */
  constructor(
    readonly device: GPUDevice,
    readonly capacity = MAX_DISPATCHES,
  ) {
    if (!device.features.has('timestamp-query')) {
      throw new GpuValidationError(
        'kernel profiling needs the "timestamp-query" feature, which this adapter does not offer',
      );
    }
    if (!(Number.isInteger(capacity) && capacity >= 1 && capacity <= MAX_DISPATCHES)) {
      throw new RangeError(`profiler capacity ${capacity}: 1..${MAX_DISPATCHES} dispatches`);
    }
    this.resolveBuf = device.createBuffer({
      size: 16 * capacity,
      usage: USAGE.QUERY_RESOLVE | USAGE.COPY_SRC,
      label: 'dynrank profiler resolve',
    });
    this.readBuf = device.createBuffer({
      size: 16 * capacity,
      usage: USAGE.MAP_READ | USAGE.COPY_DST,
      label: 'dynrank profiler readback',
    });
  }

  /** The query set holding dispatch i's timestamps (created when its chunk's first dispatch arrives). */
  private querySetFor(i: number): GPUQuerySet {
    const c = Math.floor(i / CHUNK);
    while (this.querySets.length <= c) {
      const n = this.querySets.length;
      this.querySets.push(
        this.device.createQuerySet({
          type: 'timestamp',
          count: 2 * Math.min(CHUNK, this.capacity - n * CHUNK),
          label: `dynrank profiler queries ${n}`,
        }),
      );
    }
    return this.querySets[c];
  }

  dropped = 0;

  /** The descriptor of the pass that will hold the next dispatch (labelled `kernel`). */
  passFor(kernel: string): GPUComputePassDescriptor {
    if (this.labels.length >= this.capacity) {
      this.dropped++;
      return { label: kernel };
    }
    const i = this.labels.push(kernel) - 1,
      j = i % CHUNK;
    return {
      label: kernel,
      timestampWrites: {
        querySet: this.querySetFor(i),
        beginningOfPassWriteIndex: 2 * j,
        endOfPassWriteIndex: 2 * j + 1,
      },
    };
  }

  /** Records the resolve of the queries written since the last call into `encoder` (before it is finished). */
  resolve(encoder: GPUCommandEncoder): void {
    const from = this.resolved,
      to = this.labels.length;
    if (to === from) return;
    // One resolve per query set the range touches, each from its set's first query: a resolve's destination offset
    // must be a multiple of 256 bytes, which 16 * (a chunk's first dispatch) is and 16 * from need not be (a step of
    // two submissions). Queries already resolved are resolved again, unchanged.
    const first = Math.floor(from / CHUNK) * CHUNK;
    for (let i = first; i < to; i += CHUNK) {
      const end = Math.min(to, i + CHUNK);
      encoder.resolveQuerySet(this.querySetFor(i), 0, 2 * (end - i), this.resolveBuf, 16 * i);
    }
    encoder.copyBufferToBuffer(this.resolveBuf, 16 * first, this.readBuf, 16 * first, 16 * (to - first));
    this.resolved = to;
  }

  /** Reads the timestamps back (after the last submission) and sums them per kernel, slowest first. */
  async read(): Promise<KernelTime[]> {
    const n = this.resolved;
    await this.readBuf.mapAsync(1 /* GPUMapMode.READ */, 0, 16 * Math.max(n, 1));
    const t = new BigUint64Array(this.readBuf.getMappedRange(0, 16 * Math.max(n, 1)).slice(0));
    this.readBuf.unmap();
    const by = new Map<string, KernelTime>();
    for (let i = 0; i < n; i++) {
      const ns = Number(t[2 * i + 1] - t[2 * i]);
      const k = by.get(this.labels[i]) ?? { kernel: this.labels[i], count: 0, ms: 0 };
      k.count++;
      // Timestamps may be out of order across passes on some drivers; a negative span is dropped, not summed.
      if (ns > 0) k.ms += ns / 1e6;
      by.set(k.kernel, k);
    }
    return [...by.values()].sort((a, b) => b.ms - a.ms);
  }

  destroy(): void {
    for (const q of this.querySets) q.destroy();
    this.resolveBuf.destroy();
    this.readBuf.destroy();
  }
}
