/**
 * Event counters for this process, read by /metrics (issue 9). Plain numbers,
 * summed over every events subsystem the process runs (tests run several).
 */
export const eventCounters = {
  /** outbox entries the stream acknowledged (duplicates included) */
  published: 0,
  /** of those, entries the stream had already stored under the same id */
  duplicates: 0,
  /** publish attempts that failed and were left pending for a retry */
  publishFailures: 0,
  /** events from the stream applied to the session store */
  applied: 0,
  /** malformed events acked without acting on them */
  skipped: 0,
  /** events nak'ed because the session store failed */
  retried: 0
}
