import v8 from 'node:v8';

/**
 * Enlarges V8's young generation for a long replay. The replay allocates many
 * short-lived objects (events, snapshots, promises); with the default 16 MB
 * semi-space, scavenges take a large share of the time. In A/B runs of a
 * 4-hour window of the 100-function day on a 2-core machine, 64 MB made the
 * evaluation 5 to 10 % faster (an estimate from two runs each, not a benchmark).
 * Call it before the replay allocates; it changes nothing else.
 */
export function tuneGarbageCollectionForReplay(): void {
  v8.setFlagsFromString('--max-semi-space-size=64');
}
