/**
 * Vigil governor: lock-free GCRA rate limiters ({@link dev.vigil.governor.RateLimiter}, an
 * {@link dev.vigil.core.AdmissionPolicy}), keyed rate limiters with bounded memory and a
 * {@link dev.vigil.governor.Governor} for dangerous automated actions.
 */
module dev.vigil.governor {
    requires transitive dev.vigil.core;
    requires org.slf4j;

    exports dev.vigil.governor;
}
