package dev.vigil.core;

/**
 * Raised when a bulkhead has no free permit and its wait (if any) ran out. Stackless by default; carries the bulkhead's name and, when known, a
 * retry-after hint. Unchecked; safe to share between threads.
 */
public class BulkheadFullException extends RejectedException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates a stackless exception.
     *
     * @param policyName      the bulkhead's name
     * @param message         why, for people
     * @param retryAfterNanos the suggested wait in nanoseconds, or a negative value if unknown
     */
    public BulkheadFullException(String policyName, String message, long retryAfterNanos) {
        super(policyName, message, retryAfterNanos, false);
    }

    /**
     * Creates an exception.
     *
     * @param policyName         the bulkhead's name
     * @param message            why, for people
     * @param retryAfterNanos    the suggested wait in nanoseconds, or a negative value if unknown
     * @param writableStackTrace true to capture a stack trace
     */
    public BulkheadFullException(String policyName, String message, long retryAfterNanos, boolean writableStackTrace) {
        super(policyName, message, retryAfterNanos, writableStackTrace);
    }
}
