package dev.vigil.governor;

import dev.vigil.core.internal.Checks;
import java.time.Duration;

/**
 * How long a {@link Governor} makes an unsafe action wait, given how many units of that action were
 * already let through in the current window: the resistance that grows as automation keeps pushing in
 * the unsafe direction. A curve must never decrease (more actions never wait less) and never return a
 * negative, null or over ~73 years delay; the governor checks this for the first
 * {@code min(budget, 100,000)} units when it is built, and the range at every decision. Implementations
 * must be thread-safe and pure (same input, same output).
 */
@FunctionalInterface
public interface ResponseCurve {

    /**
     * @param used the units of this action already let through in the current window (0 for the first)
     * @return the wait before this one, zero or positive
     */
    Duration delay(long used);

    /** @return no resistance: every action within the budget goes at once */
    static ResponseCurve none() {
        return used -> Duration.ZERO;
    }

    /**
     * @param step the wait added per unit already used, not negative
     * @return {@code used * step}: 0, step, 2 step, ...
     * @throws IllegalArgumentException if {@code step} is null or negative
     */
    static ResponseCurve linear(Duration step) {
        long nanos = Checks.nonNegativeUpToMaxNanos(step, "step");
        return used -> Duration.ofNanos(saturatedMultiply(nanos, used));
    }

    /**
     * @param first  the wait once one unit was used, positive
     * @param factor how much each further unit multiplies the wait, at least 1
     * @param max    the longest wait, at least {@code first}
     * @return 0 for the first unit, then {@code first}, {@code first * factor}, ... up to {@code max}
     * @throws IllegalArgumentException if out of range
     */
    static ResponseCurve exponential(Duration first, double factor, Duration max) {
        long firstNanos = Checks.positiveUpToMax(first, "first").toNanos();
        Checks.inRange(factor, 1.0, 1e6, "factor");
        long maxNanos = Checks.positiveUpToMax(max, "max").toNanos();
        if (maxNanos < firstNanos) {
            throw new IllegalArgumentException("max must be >= first (" + first + "), was " + max);
        }
        return used -> {
            if (used == 0) {
                return Duration.ZERO;
            }
            double nanos = firstNanos * Math.pow(factor, used - 1);
            return Duration.ofNanos(nanos >= maxNanos ? maxNanos : (long) nanos);
        };
    }

    /**
     * @param delays the wait for the 1st, 2nd, ... unit in the window; the last repeats; not decreasing
     * @return a step curve
     * @throws IllegalArgumentException if empty, an element is null or negative, or the steps decrease
     */
    static ResponseCurve steps(Duration... delays) {
        Checks.noNullElements(delays, "delays");
        if (delays.length == 0) {
            throw new IllegalArgumentException("delays must hold at least one delay");
        }
        Duration[] copy = delays.clone();
        for (int i = 0; i < copy.length; i++) {
            Checks.nonNegativeUpToMaxNanos(copy[i], "delays[" + i + "]");
            if (i > 0 && copy[i].compareTo(copy[i - 1]) < 0) {
                throw new IllegalArgumentException("a response curve must not decrease: delays[" + i + "] = " + copy[i]
                        + " < delays[" + (i - 1) + "] = " + copy[i - 1]);
            }
        }
        return used -> copy[(int) Math.min(used, copy.length - 1)];
    }

    private static long saturatedMultiply(long nanos, long times) {
        long high = Math.multiplyHigh(nanos, times);
        long low = nanos * times;
        return high != 0 || low < 0 || low > Checks.MAX_NANOS ? Checks.MAX_NANOS : low;
    }
}
