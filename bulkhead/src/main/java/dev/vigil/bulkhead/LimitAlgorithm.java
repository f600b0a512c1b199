package dev.vigil.bulkhead;

/**
 * How an {@link AdaptiveLimiter} finds its concurrency limit from what it measures. Vigil ships
 * {@link AimdLimit}, {@link VegasLimit} and {@link Gradient2Limit}; implement this interface for your own.
 *
 * <p>The limiter collects samples lock-free (the latency of one call in {@code sampleEvery}, the calls
 * in flight when it was admitted, and every dropped call) into a window of a few samples; when the window is full, one
 * thread at a time passes a summary of it to the algorithm's {@link Estimator}, which returns the next
 * limit. The limiter then applies the rules every algorithm shares, so an algorithm need not repeat
 * them: the result is clamped to {@code [minLimit, maxLimit]}, and while the limiter is under-used (the
 * most calls in flight in the window was below half the limit, and no call was shed) the limit never grows, and shrinks only
 * for a window with a drop: at low load, latency noise says nothing about capacity.
 *
 * <p><b>Thread-safety.</b> A {@code LimitAlgorithm} is an immutable configuration, safe to share;
 * {@link #newEstimator()} returns the mutable state of one limiter, which the limiter calls from one
 * thread at a time (with happens-before between calls), so an estimator needs no synchronization.
 */
public interface LimitAlgorithm {

    /** @return the limit a new limiter starts with, within {@code [minLimit(), maxLimit()]} */
    int initialLimit();

    /** @return the lowest limit, at least 1 */
    int minLimit();

    /** @return the highest limit, at most 1,000,000 */
    int maxLimit();

    /** @return fresh state for one limiter */
    Estimator newEstimator();

    /** Computes the next limit from one window of samples. Called by one thread at a time. */
    @FunctionalInterface
    interface Estimator {
        /**
         * @param limit  the current limit
         * @param window a summary of the samples since the last call; valid only during this call
         * @return the next limit (the limiter clamps it, and holds it while under-used unless the window had a drop)
         */
        int next(int limit, Window window);
    }

    /** A summary of the samples in one window. Valid only during {@link Estimator#next}. */
    interface Window {
        /** @return the number of sampled calls (at least 1) */
        int samples();

        /** @return the mean latency of the sampled calls, in nanoseconds (at least 1) */
        long averageRttNanos();

        /** @return the least latency among the sampled calls, in nanoseconds (at least 1, at most the mean) */
        long minRttNanos();

        /** @return the most calls in flight (counting the call) when a sampled call was admitted */
        int maxInFlight();

        /**
         * @return how many calls were dropped (the classifier said {@link dev.vigil.core.Outcome#FAILURE})
         *         since the last window: every call counts, sampled or not, so this may exceed {@link #samples()}
         */
        int dropped();
    }
}
