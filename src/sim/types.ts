/**
 * Shapes shared by the dataset reader, the simulated platform, the replayer
 * and the score, in the contest's dataset format (camelCase JSON lines).
 */

/** One line of a dataset's `metas` file. */
export interface DatasetMeta {
  key: string;
  runtime: string;
  timeoutInSecs: number;
  memoryInMb: number;
  initDurationInMs: number;
}

/** One line of a dataset's `requests` file. */
export interface DatasetRequest {
  /** Arrival, epoch ms. */
  startTime: number;
  metaKey: string;
  durationsInMs: number;
  statusCode: number;
}

/** Life of one slot on the simulated platform, for the resource term of the score. */
export interface SlotRecord {
  slotId: string;
  memoryInMb: number;
  /** When CreateSlot was received, on the platform's clock (ms). */
  createdAt: number;
  /** When DestroySlot was received; undefined while alive (charged to the end of the run). */
  destroyedAt?: number;
  /** Key of the app the slot was initialized for, once Init succeeded. */
  appKey?: string;
}

/** Outcome of one replayed request, for the cold-start term and the report. */
export interface RequestRecord {
  requestId: string;
  appKey: string;
  memoryInMb: number;
  /** Arrival on the replay clock, ms. */
  arrivalMs: number;
  executionMs: number;
  /** Time from calling Assign to its reply, ms. */
  scheduleMs: number;
  /** Time the Idle call took, ms. */
  idleMs: number;
  /** True when the instance that served it was created after the request arrived. */
  coldStart: boolean;
  /** Set when the request was not served: the reason, else undefined. */
  failure?: string;
}
