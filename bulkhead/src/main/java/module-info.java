/**
 * Vigil bulkhead: {@link dev.vigil.bulkhead.Bulkhead}, a lock-free bulkhead with optional FIFO
 * waiting, and {@link dev.vigil.bulkhead.AdaptiveLimiter}, an adaptive concurrency limiter with
 * priority load shedding. Both implement core's {@link dev.vigil.core.AdmissionPolicy}, so they compose
 * in a {@link dev.vigil.core.Pipeline} without per-call allocation.
 */
module dev.vigil.bulkhead {
    requires transitive dev.vigil.core;
    requires org.slf4j;

    exports dev.vigil.bulkhead;
}
