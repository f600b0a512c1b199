package dev.vigil.core;

import dev.vigil.core.internal.Checks;
import java.time.Duration;

/**
 * Raised when a call guarded by a {@link Timeout} did not finish within its limit. The message
 * states the limit that applied; {@link #limit()} returns it. When an enclosing {@link Deadline} was
 * earlier than the timeout's own limit, the limit reported is the shorter remaining time, and
 * {@link #inherited()} is true.
 *
 * <p>Stackless by default (timeouts cluster under overload, exactly when stack traces cost most).
 * Unchecked; safe to share between threads.
 */
public class TimeoutExceededException extends VigilException {
    private static final long serialVersionUID = 1L;

    private final Duration limit;
    private final boolean inherited;

    /**
     * @param policyName the timeout's name
     * @param limit      the limit that applied
     * @param inherited  true if an enclosing deadline was shorter than the timeout's own limit
     * @throws IllegalArgumentException if {@code policyName} or {@code limit} is null
     */
    public TimeoutExceededException(String policyName, Duration limit, boolean inherited) {
        super(policyName, message(Checks.notNull(policyName, "policyName"), Checks.notNull(limit, "limit"), inherited),
                null, false);
        this.limit = limit;
        this.inherited = inherited;
    }

    private static String message(String policyName, Duration limit, boolean inherited) {
        return "call timed out after " + format(limit) + " (timeout '" + policyName + "'"
                + (inherited ? ", limited by an enclosing deadline" : "") + ")";
    }

    static String format(Duration d) {
        long nanos = Checks.toNanosSaturated(d);
        if (nanos % 1_000_000_000L == 0) {
            return nanos / 1_000_000_000L + "s";
        }
        if (nanos % 1_000_000L == 0) {
            return nanos / 1_000_000L + "ms";
        }
        if (nanos % 1_000L == 0) {
            return nanos / 1_000L + "us";
        }
        return nanos + "ns";
    }

    /** @return the time limit that was exceeded */
    public Duration limit() {
        return limit;
    }

    /** @return true if the limit came from an enclosing deadline rather than this timeout's own setting */
    public boolean inherited() {
        return inherited;
    }
}
