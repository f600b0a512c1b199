package dev.vigil.core;

import java.util.Optional;

/**
 * Which attempt of a call is running, readable inside the call: the attempt's number and what the
 * previous attempt did. A {@link Retry} and a {@link Hedge} set it for each attempt they start, so the
 * call can, say, send an {@code X-Retry-Attempt} header, pick another replica, or log the last error.
 *
 * <pre>{@code
 * retry.call(() -> {
 *     Attempt attempt = Attempt.current().orElseThrow();
 *     HttpRequest request = HttpRequest.newBuilder(uri).header("X-Retry-Attempt", String.valueOf(attempt.number())).build();
 *     return client.send(request, BodyHandlers.ofString());
 * });
 * }</pre>
 *
 * <p>Like {@link Deadline}, the current attempt is bound to the thread that runs the call (for
 * asynchronous calls: while the supplier that starts the call runs); nested retries see the innermost.
 *
 * <p>Immutable and thread-safe (as thread-safe as the previous attempt's result it holds).
 */
public final class Attempt {
    private static final ThreadLocal<Attempt> CURRENT = new ThreadLocal<>();

    private final String policyName;
    private final int number;
    private final boolean hedge;
    private final Failure previous;
    /** The retry budget of the policy that started this attempt, or null; see {@link Budgets#reporting}. */
    private final RetryBudget budget;

    Attempt(String policyName, int number, boolean hedge, Failure previous, RetryBudget budget) {
        this.policyName = policyName;
        this.number = number;
        this.hedge = hedge;
        this.previous = previous;
        this.budget = budget;
    }

    /** True if the policy that started this attempt uses {@code budget}. */
    boolean usesBudget(RetryBudget budget) {
        return this.budget == budget;
    }

    /** The attempt running on this thread, or null (no allocation, unlike {@link #current()}). */
    static Attempt currentOrNull() {
        return CURRENT.get();
    }

    /**
     * Returns the attempt running on this thread, if a retry or hedge started it.
     *
     * @return the innermost attempt, or empty outside any retry or hedge
     */
    public static Optional<Attempt> current() {
        return Optional.ofNullable(CURRENT.get());
    }

    /**
     * Returns the number of the attempt running on this thread, without allocating.
     *
     * @return the innermost attempt's number, or 1 outside any retry or hedge (a call is its own first attempt)
     */
    public static int currentNumber() {
        Attempt attempt = CURRENT.get();
        return attempt == null ? 1 : attempt.number;
    }

    /** @return the name of the retry or hedge that started this attempt */
    public String policyName() {
        return policyName;
    }

    /** @return the attempt's number: 1 for the first, 2 for the first retry or hedge, and so on */
    public int number() {
        return number;
    }

    /** @return true if this is a retry (of a {@link Retry}) or a hedge (of a {@link Hedge}), not the first attempt */
    public boolean isRepeat() {
        return number > 1;
    }

    /** @return true if a {@link Hedge} started this attempt beside others still running */
    public boolean isHedge() {
        return hedge;
    }

    /**
     * Returns what the previous attempt did, for a retry: the exception it threw or the result that was
     * classified as a failure. Empty for a first attempt and for hedges (which run beside earlier attempts).
     *
     * @return the previous attempt's failure, or empty
     */
    public Optional<Failure> previous() {
        return Optional.ofNullable(previous);
    }

    /**
     * Makes {@code attempt} current on this thread and returns the one it replaces, to be given back to
     * {@link #exit} in a {@code finally}. Setting (not removing) keeps the thread-local entry, so this
     * allocates nothing after the first call on a thread.
     */
    static Attempt enter(Attempt attempt) {
        Attempt previousAttempt = CURRENT.get();
        CURRENT.set(attempt);
        return previousAttempt;
    }

    static void exit(Attempt previousAttempt) {
        CURRENT.set(previousAttempt);
    }

    @Override
    public String toString() {
        return "Attempt[" + policyName + " #" + number + (hedge ? ", hedge" : "") + "]";
    }
}
