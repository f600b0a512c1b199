package dev.vigil.circuitbreaker;

/**
 * Where a {@link CircuitBreaker} (and an {@link AdaptiveThrottle}, which uses a time window) keeps its recent outcomes: the last
 * N calls ({@link CountWindow}) or the calls of the last T ({@link TimeWindow}). Both are lock-free and
 * allocation-free per record.
 *
 * <p>An outcome is a small code: bit 0 says a call is present, bit 1 that it failed, bit 2 that it was
 * slow. A window counts calls, failed calls and slow calls, and answers whether its totals cross the
 * breaker's thresholds.
 */
abstract class SlidingWindow {
    /** A call that succeeded in time. */
    static final int SUCCESS = 1;
    /** A call that failed. */
    static final int FAILURE = 3;
    /** Added to {@link #SUCCESS} or {@link #FAILURE} for a slow call. */
    static final int SLOW = 4;

    /** {@link Thresholds#verdict} results. */
    static final int HEALTHY = 0;
    static final int FAILURE_RATE_EXCEEDED = 1;
    static final int SLOW_CALL_RATE_EXCEEDED = 2;

    static boolean isFailure(int code) {
        return (code & 2) != 0;
    }

    static boolean isSlow(int code) {
        return (code & SLOW) != 0;
    }

    /**
     * Records one outcome. Lock-free and allocation-free; reads no clock.
     *
     * @param code {@link #SUCCESS} or {@link #FAILURE}, plus {@link #SLOW} if slow
     */
    abstract void record(int code);

    /** @return a {@link Thresholds#verdict} on the window's current totals */
    abstract int verdict(Thresholds thresholds);

    /** @return the window's current totals (allocates; not for the hot path) */
    abstract CircuitBreaker.Stats stats(CircuitBreaker.State state);

    /** Stops whatever moves the window with time (a time window's timer); a no-op for a count window. */
    void stop() {}

    /** The trip rules, as exact integer-free comparisons on a window's totals. Immutable. */
    record Thresholds(int minimumCalls, double failureRatePercent, double slowCallRatePercent) {
        /** Slow-call rate threshold meaning "slow calls are not tracked". */
        static final double NONE = Double.POSITIVE_INFINITY;

        /**
         * @return {@link #FAILURE_RATE_EXCEEDED} if the failure rate reaches its threshold,
         *         {@link #SLOW_CALL_RATE_EXCEEDED} if the slow-call rate does, else {@link #HEALTHY};
         *         always {@link #HEALTHY} below {@code minimumCalls}
         */
        int verdict(long calls, long failures, long slowCalls) {
            if (calls < minimumCalls || calls <= 0) {
                return HEALTHY;
            }
            if (failures * 100.0 >= failureRatePercent * calls) {
                return FAILURE_RATE_EXCEEDED;
            }
            if (slowCalls * 100.0 >= slowCallRatePercent * calls) {
                return SLOW_CALL_RATE_EXCEEDED;
            }
            return HEALTHY;
        }
    }
}
