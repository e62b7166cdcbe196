const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as `500ms`, `60s`, `10m`, `4h` or a bare number of
 * milliseconds. Throws a RangeError naming `what` and the value when invalid.
 */
export function parseDurationMs(text: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) {
    throw new RangeError(`${what} is invalid: "${text}"; expected a duration such as 500ms, 60s, 10m or 4h`);
  }
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!);
}

/** Formats milliseconds in the largest unit that keeps it exact, for names and reports. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit]! && ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  }
  return `${ms}ms`;
}
