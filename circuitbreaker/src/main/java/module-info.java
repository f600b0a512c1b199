/**
 * Vigil circuit breaker: {@link dev.vigil.circuitbreaker.CircuitBreaker}, a lock-free and
 * allocation-free breaker over a count- or time-based sliding window, and
 * {@link dev.vigil.circuitbreaker.AdaptiveThrottle}, client-side throttling that sheds gradually
 * instead of tripping. Both implement core's {@link dev.vigil.core.AdmissionPolicy}, so they compose
 * in a {@link dev.vigil.core.Pipeline} without per-call allocation.
 */
module dev.vigil.circuitbreaker {
    requires transitive dev.vigil.core;
    requires org.slf4j;

    exports dev.vigil.circuitbreaker;
}
