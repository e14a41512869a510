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
    readbacks: 0,
    bytesRead: 0,
    writes: 0,
    pipelineCreations: 0,
    bindGroupCreations: 0,
  };
}

/** The counts accumulated between two snapshots (bytesLive and largestBuffer are taken from the later one). */
export function diffCounters(after: GpuCounters, before: GpuCounters): GpuCounters {
  const d = { ...after };
  for (const k of Object.keys(d) as (keyof GpuCounters)[])
    if (k !== 'bytesLive' && k !== 'largestBuffer') d[k] = after[k] - before[k];
  return d;
}
