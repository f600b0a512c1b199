package dev.vigil.core;

/**
 * Raised when a rate limiter has no permit for this call now. Stackless by default; carries the rate limiter's name and, when known, a
 * retry-after hint. Unchecked; safe to share between threads.
 */
public class RateLimitedException extends RejectedException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates a stackless exception.
     *
     * @param policyName      the rate limiter's name
     * @param message         why, for people
     * @param retryAfterNanos the suggested wait in nanoseconds, or a negative value if unknown
     */
    public RateLimitedException(String policyName, String message, long retryAfterNanos) {
        super(policyName, message, retryAfterNanos, false);
    }

    /**
     * Creates an exception.
     *
     * @param policyName         the rate limiter's name
     * @param message            why, for people
     * @param retryAfterNanos    the suggested wait in nanoseconds, or a negative value if unknown
     * @param writableStackTrace true to capture a stack trace
     */
    public RateLimitedException(String policyName, String message, long retryAfterNanos, boolean writableStackTrace) {
        super(policyName, message, retryAfterNanos, writableStackTrace);
    }
}
