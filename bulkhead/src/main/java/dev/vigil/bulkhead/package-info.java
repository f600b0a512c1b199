/**
 * Bulkheads and adaptive concurrency limits: {@link dev.vigil.bulkhead.Bulkhead} caps concurrent
 * calls with a lock-free, striped permit pool and optional FIFO waiting;
 * {@link dev.vigil.bulkhead.AdaptiveLimiter} finds the cap by itself from latency samples (AIMD,
 * Vegas, Gradient2 or your own {@link dev.vigil.bulkhead.LimitAlgorithm}) and sheds the least
 * critical calls first. Both implement core's {@link dev.vigil.core.AdmissionPolicy}.
 */
package dev.vigil.bulkhead;
