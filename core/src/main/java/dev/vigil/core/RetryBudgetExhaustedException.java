package dev.vigil.core;

/**
 * Raised when a retry budget denied a retry or a hedge; it is attached as a suppressed exception to the failure the caller sees. Stackless by default; carries the retry budget's name and, when known, a
 * retry-after hint. Unchecked; safe to share between threads.
 */
public class RetryBudgetExhaustedException extends RejectedException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates a stackless exception.
     *
     * @param policyName      the retry budget's name
     * @param message         why, for people
     * @param retryAfterNanos the suggested wait in nanoseconds, or a negative value if unknown
     */
    public RetryBudgetExhaustedException(String policyName, String message, long retryAfterNanos) {
        super(policyName, message, retryAfterNanos, false);
    }

    /**
     * Creates an exception.
     *
     * @param policyName         the retry budget's name
     * @param message            why, for people
     * @param retryAfterNanos    the suggested wait in nanoseconds, or a negative value if unknown
     * @param writableStackTrace true to capture a stack trace
     */
    public RetryBudgetExhaustedException(String policyName, String message, long retryAfterNanos, boolean writableStackTrace) {
        super(policyName, message, retryAfterNanos, writableStackTrace);
    }
}
