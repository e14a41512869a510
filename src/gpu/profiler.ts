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

// WebGPU caps a query set at 4096 queries; each dispatch takes two.
const MAX_DISPATCHES = 2048;
const USAGE = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, QUERY_RESOLVE: 0x0200 } as const;

export class KernelProfiler {
  private readonly querySet: GPUQuerySet;
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
    if (!(capacity >= 1 && capacity <= MAX_DISPATCHES)) {
      throw new RangeError(
        `profiler capacity ${capacity}: a query set holds at most 4096 timestamps, so 1..${MAX_DISPATCHES} dispatches`,
      );
    }
    this.querySet = device.createQuerySet({
      type: 'timestamp',
      count: 2 * capacity,
      label: 'dynrank profiler queries',
    });
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

  dropped = 0;

  /** The descriptor of the pass that will hold the next dispatch (labelled `kernel`). */
  passFor(kernel: string): GPUComputePassDescriptor {
    if (this.labels.length >= this.capacity) {
      this.dropped++;
      return { label: kernel };
    }
    const i = this.labels.push(kernel) - 1;
    return {
      label: kernel,
      timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    };
  }

  /** Records the resolve of the queries written since the last call into `encoder` (before it is finished). */
  resolve(encoder: GPUCommandEncoder): void {
    const from = this.resolved,
      to = this.labels.length;
    if (to === from) return;
    encoder.resolveQuerySet(this.querySet, 2 * from, 2 * (to - from), this.resolveBuf, 16 * from);
    encoder.copyBufferToBuffer(this.resolveBuf, 16 * from, this.readBuf, 16 * from, 16 * (to - from));
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
    this.querySet.destroy();
    this.resolveBuf.destroy();
    this.readBuf.destroy();
  }
}
