package dev.vigil.core;

/**
 * How a completed call counts, as decided by a {@link Classifier}.
 */
public enum Outcome {
    /** The call worked: counts toward health (a breaker's success rate, a limiter's latency samples). */
    SUCCESS,
    /** The call failed: counts against health, may be retried, may be replaced by a fallback. */
    FAILURE,
    /** Neither: the call completed but says nothing about the dependency (e.g. a 404, a validation error). */
    IGNORED
}
