package dev.vigil.core;

/**
 * Raised when an adaptive limiter or throttle shed this call to protect the dependency or the service. Stackless by default; carries the load shedder's name and, when known, a
 * retry-after hint. Unchecked; safe to share between threads.
 */
public class LoadShedException extends RejectedException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates a stackless exception.
     *
     * @param policyName      the load shedder's name
     * @param message         why, for people
     * @param retryAfterNanos the suggested wait in nanoseconds, or a negative value if unknown
     */
    public LoadShedException(String policyName, String message, long retryAfterNanos) {
        super(policyName, message, retryAfterNanos, false);
    }

    /**
     * Creates an exception.
     *
     * @param policyName         the load shedder's name
     * @param message            why, for people
     * @param retryAfterNanos    the suggested wait in nanoseconds, or a negative value if unknown
     * @param writableStackTrace true to capture a stack trace
     */
    public LoadShedException(String policyName, String message, long retryAfterNanos, boolean writableStackTrace) {
        super(policyName, message, retryAfterNanos, writableStackTrace);
    }
}
