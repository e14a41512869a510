// A pool of GPU buffers keyed by usage and size, so a training step reuses memory instead of allocating it.

import { addLive, type GpuCounters } from './counters';

const ALIGN = 16;

/** Rounds a byte size up to what the pool hands out (WebGPU wants multiples of 4; 16 keeps vec4 loads in bounds). */
function pooledSize(bytes: number): number {
  return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly sizes = new WeakMap<GPUBuffer, { key: string; size: number }>();

  constructor(
    private readonly device: GPUDevice,
    private readonly counters: GpuCounters,
  ) {}

  /** A buffer of at least `bytes` bytes; `reused` tells the caller whether it may hold stale data. */
  acquire(bytes: number, usage: GPUBufferUsageFlags, label: string): { buffer: GPUBuffer; reused: boolean } {
    const size = pooledSize(bytes);
    this.counters.largestBuffer = Math.max(this.counters.largestBuffer, size);
    const key = `${usage}:${size}`;
    const list = this.free.get(key);
    const hit = list?.pop();
    if (hit) {
      hit.label = label;
      return { buffer: hit, reused: true };
    }
    const buffer = this.device.createBuffer({ size, usage, label });
    this.sizes.set(buffer, { key, size });
    this.counters.bufferCreations++;
    this.counters.bytesAllocated += size;
    addLive(this.counters, size);
    return { buffer, reused: false };
  }

  /** A free pooled buffer of this usage holding at least `bytes` (the smallest such), or null: scratch that takes no
   * new memory. Give it back with release(). */
  borrow(bytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer | null {
    const need = pooledSize(bytes);
    let best: { list: GPUBuffer[]; size: number } | null = null;
    for (const [key, list] of this.free) {
      const [u, s] = key.split(':').map(Number);
      if (u === usage && s >= need && list.length && (!best || s < best.size)) best = { list, size: s };
    }
    const hit = best?.list.pop() ?? null;
    if (hit) hit.label = label;
    return hit;
  }

  /** Destroys a buffer acquired from this pool instead of keeping it (transient scratch). */
  discard(buffer: GPUBuffer): void {
    const s = this.sizes.get(buffer);
    if (!s) return;
    this.counters.bytesLive -= s.size;
    this.sizes.delete(buffer);
    buffer.destroy();
  }

  release(buffer: GPUBuffer): void {
    const s = this.sizes.get(buffer);
    if (!s) return;
    let list = this.free.get(s.key);
    if (!list) this.free.set(s.key, (list = []));
    if (!list.includes(buffer)) list.push(buffer);
  }

  /** Destroys the pooled-but-unused buffers (after a model is unloaded). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        const s = this.sizes.get(b);
        if (s) this.counters.bytesLive -= s.size;
        b.destroy();
      }
    }
    this.free.clear();
  }
}
