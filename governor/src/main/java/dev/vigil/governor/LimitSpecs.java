package dev.vigil.governor;

import dev.vigil.core.internal.Checks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The limits a rate limiter builder collects ({@code limit(permits, period[, burst])}), validated as
 * they are added and turned into a {@link Gcra}. Shared by {@link RateLimiter.Builder} and
 * {@link KeyedRateLimiter.Builder}. Not thread-safe (builders are not).
 */
final class LimitSpecs {
    /** At most this many limits per limiter: each costs a CAS per call. */
    static final int MAX_LIMITS = 8;
    /** The shortest interval between permits: one microsecond, i.e. at most 1,000,000 permits per second. */
    static final long MIN_INTERVAL_NANOS = 1_000L;

    private final List<long[]> limits = new ArrayList<>();

    /**
     * Adds a limit of {@code permits} per {@code period} with a burst of {@code burst}.
     *
     * @throws IllegalArgumentException naming the parameter and its range
     */
    void add(long permits, Duration period, long burst) {
        if (permits < 1) {
            throw new IllegalArgumentException("permits must be >= 1 (a rate above 0), was " + permits);
        }
        long periodNanos = Checks.positiveUpToMax(period, "period").toNanos();
        if (burst < 1) {
            throw new IllegalArgumentException("burst must be >= 1, was " + burst);
        }
        // Rounded up to whole nanoseconds: the limiter may let through a hair less than the rate, never more.
        long interval = periodNanos / permits + (periodNanos % permits == 0 ? 0 : 1);
        if (interval < MIN_INTERVAL_NANOS) {
            throw new IllegalArgumentException("permits per period must be at most 1 per microsecond (1,000,000 per second), was "
                    + permits + " per " + period);
        }
        if (burst > Checks.MAX_NANOS / interval) {
            throw new IllegalArgumentException("burst must be in [1, " + Checks.MAX_NANOS / interval + "] for " + permits + " per " + period
                    + " (a full bucket must refill within about 73 years), was " + burst);
        }
        if (limits.size() == MAX_LIMITS) {
            throw new IllegalArgumentException("limits must be at most " + MAX_LIMITS + " per limiter, was " + (MAX_LIMITS + 1));
        }
        limits.add(new long[] {permits, periodNanos, burst, interval});
    }

    /** @throws IllegalArgumentException if no limit was added */
    Gcra build() {
        if (limits.isEmpty()) {
            throw new IllegalArgumentException("limits must hold at least one limit: call limit(permits, period) on the builder");
        }
        long[] intervals = new long[limits.size()];
        long[] tolerances = new long[limits.size()];
        for (int i = 0; i < intervals.length; i++) {
            long[] limit = limits.get(i);
            intervals[i] = limit[3];
            tolerances[i] = limit[2] * limit[3];
        }
        return new Gcra(intervals, tolerances, minBurst());
    }

    /**
     * Checks that a warm-up of {@code coldFactor} keeps a full bucket's cost within the longest
     * duration (about 73 years), so stretched costs never overflow.
     *
     * @throws IllegalArgumentException naming the limit that does not fit
     */
    void checkWarmup(double coldFactor) {
        for (long[] limit : limits) {
            if (coldFactor * limit[2] * limit[3] > Checks.MAX_NANOS) {
                throw new IllegalArgumentException("coldFactor must be at most " + (double) Checks.MAX_NANOS / (limit[2] * limit[3])
                        + " for " + limit[0] + " per " + Duration.ofNanos(limit[1]) + " with a burst of " + limit[2]
                        + " (a cold bucket must refill within about 73 years), was " + coldFactor);
            }
        }
    }

    private long minBurst() {
        long min = Long.MAX_VALUE;
        for (long[] limit : limits) {
            min = Math.min(min, limit[2]);
        }
        return min;
    }

    /** For messages: "100 per PT1S (burst 100), 1000 per PT1M (burst 1000)". */
    String describe() {
        StringBuilder text = new StringBuilder();
        for (long[] limit : limits) {
            if (text.length() > 0) {
                text.append(", ");
            }
            text.append(limit[0]).append(" per ").append(Duration.ofNanos(limit[1])).append(" (burst ").append(limit[2]).append(')');
        }
        return text.toString();
    }
}
