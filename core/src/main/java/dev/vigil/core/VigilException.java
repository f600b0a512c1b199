package dev.vigil.core;

/**
 * The base of the exceptions Vigil's policies raise themselves (as opposed to the exceptions of the
 * calls they guard). Unchecked, so {@link Policy#get} and {@link Policy#run} pass them through as
 * they are. Every instance carries the name of the policy that raised it.
 *
 * <p>Immutable after construction except for the suppressed list; safe to share between threads.
 */
public abstract class VigilException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String policyName;

    /**
     * @param policyName         the name of the raising policy
     * @param message            the detail message
     * @param cause              the cause, or null
     * @param writableStackTrace false for a stackless exception (no {@code fillInStackTrace} cost)
     */
    protected VigilException(String policyName, String message, Throwable cause, boolean writableStackTrace) {
        super(message, cause, true, writableStackTrace);
        this.policyName = policyName;
    }

    /** @return the name of the policy that raised this exception */
    public String policyName() {
        return policyName;
    }
}
