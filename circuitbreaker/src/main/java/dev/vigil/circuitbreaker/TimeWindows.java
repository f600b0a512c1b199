package dev.vigil.circuitbreaker;

import dev.vigil.core.internal.Checks;
import java.time.Duration;

/** The validation of a time window's span and bucket count, shared by the breaker and the throttle. Stateless. */
final class TimeWindows {
    private static final long MILLI = 1_000_000L;

    private TimeWindows() {}

    /**
     * @return the bucket length in nanoseconds
     * @throws IllegalArgumentException unless {@code window} is positive, {@code buckets} is in
     *                                  [2, {@link CircuitBreaker.Builder#MAX_BUCKETS}], and the window splits
     *                                  into buckets of a whole number of milliseconds
     */
    static long bucketNanos(Duration window, int buckets, String windowParameter, String bucketsParameter) {
        Checks.positiveUpToMax(window, windowParameter);
        Checks.inRange(buckets, 2, CircuitBreaker.Builder.MAX_BUCKETS, bucketsParameter);
        long nanos = window.toNanos();
        if (nanos % buckets != 0 || (nanos / buckets) % MILLI != 0) {
            throw new IllegalArgumentException(windowParameter + " (" + window + ") must split into " + bucketsParameter + " (" + buckets
                    + ") of a whole number of milliseconds each, at least 1 ms");
        }
        return nanos / buckets;
    }
}
