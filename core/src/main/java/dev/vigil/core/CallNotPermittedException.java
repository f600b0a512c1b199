package dev.vigil.core;

/**
 * Raised when a circuit breaker is open (or forced open, or its half-open probes are all taken). Stackless by default; carries the circuit breaker's name and, when known, a
 * retry-after hint. Unchecked; safe to share between threads.
 */
public class CallNotPermittedException extends RejectedException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates a stackless exception.
     *
     * @param policyName      the circuit breaker's name
     * @param message         why, for people
     * @param retryAfterNanos the suggested wait in nanoseconds, or a negative value if unknown
     */
    public CallNotPermittedException(String policyName, String message, long retryAfterNanos) {
        super(policyName, message, retryAfterNanos, false);
    }

    /**
     * Creates an exception.
     *
     * @param policyName         the circuit breaker's name
     * @param message            why, for people
     * @param retryAfterNanos    the suggested wait in nanoseconds, or a negative value if unknown
     * @param writableStackTrace true to capture a stack trace
     */
    public CallNotPermittedException(String policyName, String message, long retryAfterNanos, boolean writableStackTrace) {
        super(policyName, message, retryAfterNanos, writableStackTrace);
    }
}
