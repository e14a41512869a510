// Counters of the GPU work that transfers to real hardware: the benchmarks report them per training step.

export interface GpuCounters {
  submissions: number;
  dispatches: number;
  bufferCreations: number;
  bytesAllocated: number;
  /** Bytes currently held by live (not pooled-free) buffers plus the pool: the engine's GPU footprint. */
  bytesLive: number;
  /** The largest buffer handed out (new or pooled) since this field was last set to 0: a high-water mark. */
  largestBuffer: number;
  /** The most bytesLive has been since the counters were made: the run's high-water mark. */
  bytesPeak: number;
  readbacks: number;
  bytesRead: number;
  writes: number;
  pipelineCreations: number;
  bindGroupCreations: number;
}

export function newCounters(): GpuCounters {
  return {
    submissions: 0,
    dispatches: 0,
    bufferCreations: 0,
    bytesAllocated: 0,
    bytesLive: 0,
    largestBuffer: 0,
    bytesPeak: 0,
    readbacks: 0,
    bytesRead: 0,
    writes: 0,
    pipelineCreations: 0,
    bindGroupCreations: 0,
  };
}

/** Adds `bytes` to the live bytes and raises the peak with them. */
export function addLive(c: GpuCounters, bytes: number): void {
  c.bytesLive += bytes;
  if (c.bytesLive > c.bytesPeak) c.bytesPeak = c.bytesLive;
}

/** The counts accumulated between two snapshots (bytesLive, largestBuffer and bytesPeak are taken from the later
 * one). */
export function diffCounters(after: GpuCounters, before: GpuCounters): GpuCounters {
  const d = { ...after };
  for (const k of Object.keys(d) as (keyof GpuCounters)[])
    if (k !== 'bytesLive' && k !== 'largestBuffer' && k !== 'bytesPeak') d[k] = after[k] - before[k];
  return d;
}
