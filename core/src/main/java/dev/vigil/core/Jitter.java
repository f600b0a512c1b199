package dev.vigil.core;

import dev.vigil.core.internal.Checks;

/**
 * How a {@link Backoff} randomises its delays, so that clients that failed together do not retry
 * together. The first four kinds are the ones compared in the AWS Architecture Blog's "Exponential
 * Backoff And Jitter"; with {@code b} the un-jittered delay of retry {@code n} (capped at the
 * back-off's maximum):
 *
 * <table>
 *   <caption>Delay of retry {@code n}</caption>
 *   <tr><th>jitter</th><th>delay</th><th>bounds</th></tr>
 *   <tr><td>{@link #none()}</td><td>{@code b}</td><td>{@code [b, b]}</td></tr>
 *   <tr><td>{@link #full()}</td><td>{@code random(0, b)}</td><td>{@code [0, b]}</td></tr>
 *   <tr><td>{@link #equal()}</td><td>{@code b - b/2 + random(0, b/2)}</td><td>{@code [b - b/2, b]}</td></tr>
 *   <tr><td>{@link #decorrelated()}</td><td>{@code min(max, random(initial, 3 * previous))}</td>
 *       <td>{@code [initial, min(max, 3 * previous)]}; the first retry's {@code previous} is {@code initial}</td></tr>
 *   <tr><td>{@link #proportional(double) proportional(f)}</td><td>{@code min(max, random(b - f*b, b + f*b))}</td>
 *       <td>{@code [b - f*b, min(max, b + f*b)]}</td></tr>
 * </table>
 *
 * <p>Upper bounds are capped at the back-off's maximum: for a {@link Backoff#fixed fixed} back-off
 * the maximum is the delay itself, so proportional jitter there only shortens delays ({@code [b - f*b,
 * b]}); give a linear or exponential back-off a higher maximum for a symmetric spread.
 *
 * <p>Decorrelated jitter grows by its own rule (up to three times the previous delay), so it uses only
 * the back-off's initial delay and maximum, not its fixed, linear or exponential shape. Bounds are
 * inclusive, in whole nanoseconds ({@code b/2} rounds down).
 *
 * <p>Immutable and thread-safe.
 */
public final class Jitter {
    enum Kind { NONE, FULL, EQUAL, DECORRELATED, PROPORTIONAL }

    private static final Jitter NONE = new Jitter(Kind.NONE, 0);
    private static final Jitter FULL = new Jitter(Kind.FULL, 0);
    private static final Jitter EQUAL = new Jitter(Kind.EQUAL, 0);
    private static final Jitter DECORRELATED = new Jitter(Kind.DECORRELATED, 0);

    final Kind kind;
    final double factor;

    private Jitter(Kind kind, double factor) {
        this.kind = kind;
        this.factor = factor;
    }

    /** @return no jitter: every client waits exactly the back-off's delay */
    public static Jitter none() {
        return NONE;
    }

    /** @return "full jitter": a delay drawn uniformly from zero to the back-off's delay */
    public static Jitter full() {
        return FULL;
    }

    /** @return "equal jitter": half the back-off's delay, plus up to that half again at random */
    public static Jitter equal() {
        return EQUAL;
    }

    /**
     * Returns "decorrelated jitter": each delay is drawn from the initial delay up to three times the
     * previous delay, capped at the back-off's maximum. Needs a positive initial delay.
     *
     * @return decorrelated jitter
     */
    public static Jitter decorrelated() {
        return DECORRELATED;
    }

    /**
     * Returns jitter of plus or minus a fraction of the delay (what resilience4j calls a randomization
     * factor), capped at the back-off's maximum.
     *
     * @param factor the fraction, in (0, 1]
     * @return the jitter
     * @throws IllegalArgumentException if {@code factor} is not in (0, 1]
     */
    public static Jitter proportional(double factor) {
        return new Jitter(Kind.PROPORTIONAL, Checks.inLeftOpenRange(factor, 0.0, 1.0, "factor"));
    }

    @Override
    public String toString() {
        return kind == Kind.PROPORTIONAL ? "Jitter[proportional " + factor + "]" : "Jitter[" + kind.name().toLowerCase(java.util.Locale.ROOT) + "]";
    }
}
