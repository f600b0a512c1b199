package dev.vigil.core;

import dev.vigil.core.internal.Checks;
import java.time.Duration;
import java.util.Optional;

/**
 * A policy refused to run a call: a circuit open, a bulkhead full, a rate exceeded, load shed, a retry
 * budget spent. The call was not started, so it is always safe to retry it elsewhere or later; when
 * the policy knows how long to wait, {@link #retryAfter()} says so (an HTTP server can turn it into a
 * {@code Retry-After} header).
 *
 * <p>Stackless by default: under overload, rejection is the hot path, and filling in a stack trace
 * would cost more than the call it saves. Subclasses pass {@code writableStackTrace = true} when a
 * user asks for stack traces. Unchecked; safe to share between threads.
 */
public class RejectedException extends VigilException {
    private static final long serialVersionUID = 1L;

    private final long retryAfterNanos;
    /**
     * The admission policy whose rejection a pipeline driver threw (set by the driver on the
     * rejecting thread before throwing; read on that thread, or after a future's completion, which
     * publishes it). Lets an outer policy tell "rejected further in this pipeline" (release the permit)
     * from "the call itself threw a rejection" (a failure) by identity, not by name.
     */
    transient Object rejectedBy;

    /**
     * Creates a stackless rejection.
     *
     * @param policyName      the rejecting policy's name
     * @param message         why, for people
     * @param retryAfterNanos the suggested wait in nanoseconds, or a negative value if unknown
     * @throws IllegalArgumentException if {@code policyName} or {@code message} is null
     */
    public RejectedException(String policyName, String message, long retryAfterNanos) {
        this(policyName, message, retryAfterNanos, false);
    }

    /**
     * Creates a rejection.
     *
     * @param policyName         the rejecting policy's name
     * @param message            why, for people
     * @param retryAfterNanos    the suggested wait in nanoseconds, or a negative value if unknown
     * @param writableStackTrace true to capture a stack trace (costly); false for a stackless exception
     * @throws IllegalArgumentException if {@code policyName} or {@code message} is null
     */
    public RejectedException(String policyName, String message, long retryAfterNanos, boolean writableStackTrace) {
        super(Checks.notNull(policyName, "policyName"), Checks.notNull(message, "message"), null, writableStackTrace);
        this.retryAfterNanos = retryAfterNanos < 0 ? -1L : retryAfterNanos;
    }

    /** @return the suggested wait before trying again, if the policy knows one */
    public Optional<Duration> retryAfter() {
        return retryAfterNanos < 0 ? Optional.empty() : Optional.of(Duration.ofNanos(retryAfterNanos));
    }

    /** @return the suggested wait in nanoseconds, or -1 if unknown (allocation-free) */
    public long retryAfterNanos() {
        return retryAfterNanos;
    }
}
