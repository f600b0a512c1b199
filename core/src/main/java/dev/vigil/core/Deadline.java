package dev.vigil.core;

import dev.vigil.core.internal.Checks;
import dev.vigil.core.time.Ticker;
import java.time.Duration;
import java.util.Optional;

/**
 * The time by which the current call must finish, propagated from enclosing {@link Timeout}s (and,
 * later, retries with a total time limit) to the code inside them, so that code can bound its own
 * waits: set an HTTP request's timeout to {@link #remaining()}, say, instead of a fixed guess.
 *
 * <pre>{@code
 * timeout.call(() -> {
 *     Duration left = Deadline.currentRemainingOr(Duration.ofSeconds(30));
 *     return client.send(request.timeout(left).build(), BodyHandlers.ofString());
 * });
 * }</pre>
 *
 * <p>Nested timeouts take the earlier deadline: an inner timeout whose own limit would end after the
 * enclosing deadline is cut to the enclosing deadline. The current deadline is bound to the thread
 * that runs the call (for asynchronous calls: while the supplier that starts the call runs); it is
 * not visible on other threads or in later callbacks.
 *
 * <p>Immutable and thread-safe.
 */
public final class Deadline {
    /** The innermost deadline of the call running on this thread, or null; see {@link #enter}. */
    private static final ThreadLocal<Deadline> CURRENT = new ThreadLocal<>();

    private final Ticker ticker;
    private final long deadlineNanos;

    Deadline(Ticker ticker, long deadlineNanos) {
        this.ticker = ticker;
        this.deadlineNanos = deadlineNanos;
    }

    /**
     * Returns the deadline of the call running on this thread, if any enclosing policy set one.
     *
     * @return the innermost deadline, or empty
     */
    public static Optional<Deadline> current() {
        return Optional.ofNullable(CURRENT.get());
    }

    /**
     * Returns the nanoseconds left before the current thread's deadline, without allocating.
     *
     * @return the nanoseconds left (0 if passed), or {@link Long#MAX_VALUE} if there is no deadline
     */
    public static long currentRemainingNanos() {
        Deadline deadline = CURRENT.get();
        return deadline == null ? Long.MAX_VALUE : deadline.remainingNanos();
    }

    /**
     * Returns the time left before the current thread's deadline, for passing to an API that takes a
     * timeout: never zero or negative (at least one nanosecond, so it is always a valid timeout; an
     * expired deadline then makes the API time out at once), or {@code otherwise} when no enclosing
     * policy set a deadline.
     *
     * <pre>{@code
     * HttpRequest request = HttpRequest.newBuilder(uri)
     *     .timeout(Deadline.currentRemainingOr(Duration.ofSeconds(10)))
     *     .build();
     * }</pre>
     *
     * @param otherwise the timeout to use when there is no deadline, positive
     * @return a positive duration
     * @throws IllegalArgumentException if {@code otherwise} is null, zero or negative
     */
    public static Duration currentRemainingOr(Duration otherwise) {
        Checks.positive(otherwise, "otherwise");
        Deadline deadline = CURRENT.get();
        return deadline == null ? otherwise : Duration.ofNanos(Math.max(1L, deadline.remainingNanos()));
    }

    /** @return the nanoseconds left before this deadline, 0 if it has passed */
    public long remainingNanos() {
        return Math.max(0L, deadlineNanos - ticker.read());
    }

    /** @return the time left before this deadline, zero if it has passed */
    public Duration remaining() {
        return Duration.ofNanos(remainingNanos());
    }

    /** @return true if the deadline has passed */
    public boolean isExpired() {
        return deadlineNanos - ticker.read() <= 0;
    }

    /** @return the deadline as a reading of {@link #ticker()} */
    public long deadlineNanos() {
        return deadlineNanos;
    }

    /** @return the ticker this deadline is measured by */
    public Ticker ticker() {
        return ticker;
    }

    static Deadline currentOrNull() {
        return CURRENT.get();
    }

    /**
     * Makes {@code deadline} current on this thread and returns the one it replaces, to be given back
     * to {@link #exit} in a {@code finally}. Setting (rather than removing) keeps the thread-local entry,
     * so entering and exiting allocate nothing after the first call on a thread.
     */
    static Deadline enter(Deadline deadline) {
        Deadline previous = CURRENT.get();
        CURRENT.set(deadline);
        return previous;
    }

    static void exit(Deadline previous) {
        CURRENT.set(previous);
    }

    @Override
    public String toString() {
        return "Deadline[remaining=" + remaining() + "]";
    }
}
