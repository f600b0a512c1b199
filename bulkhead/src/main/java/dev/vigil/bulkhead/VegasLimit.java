package dev.vigil.bulkhead;

import dev.vigil.core.internal.Checks;

/**
 * TCP Vegas applied to concurrency: it estimates how many calls are queued at the dependency from how
 * far latency has risen above the no-load latency, and keeps that queue small.
 *
 * <p>The no-load latency is the least latency seen; every {@code probeMultiplier x limit} samples it is
 * forgotten and measured afresh, so a dependency that got permanently slower is not punished forever.
 * Measured under load, the least latency would include the queue standing at the dependency, and
 * taking that for the no-load latency would ratchet the limit up with every probe; so a probe first
 * halves the limit, waits for a window whose calls were all admitted under the halved limit (the queue
 * drained), takes that window's least latency, restores the limit and ignores the next window. A
 * probe in an under-used window (nothing queued) measures at once.
 * Per window, with {@code L} the limit, {@code rtt} the window's mean latency and
 * {@code log = max(1, log10 L)}:
 *
 * <pre>
 * queue = ceil(L * (1 - noLoadRtt / rtt))
 * a drop in the window     : L - log
 * queue &lt;= log            : L + 6 log       (nothing queued: grow fast)
 * queue &lt;  3 log          : L + log         (alpha: a little queued, grow)
 * queue &gt;  6 log          : L - log         (beta: too much queued, shrink)
 * otherwise                : L
 * next = (1 - smoothing) L + smoothing * that
 * </pre>
 *
 * <p>It keeps latency near the no-load latency while the dependency is saturated; it suits dependencies
 * that slow down (queue) before they fail. Immutable and thread-safe; each limiter gets its own
 * estimator. The builder throws {@link IllegalArgumentException} naming the parameter and its range.
 */
public final class VegasLimit extends LimitBounds {
    private final double smoothing;
    private final int probeMultiplier;

    private VegasLimit(Builder builder) {
        super(builder);
        this.smoothing = builder.smoothing;
        this.probeMultiplier = builder.probeMultiplier;
    }

    /** @return a builder with the defaults described on its setters */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Estimator newEstimator() {
        return new Estimator() {
            private long noLoadRtt;
            private long samplesSinceProbe;
            /** While a probe drains the queue (above 0): the limit to go back to. */
            private int restoreLimit;
            /** The window after a probe holds calls admitted while draining: it says nothing of the restored limit. */
            private boolean skipWindow;

            @Override
            public int next(int limit, Window window) {
                if (restoreLimit > 0) {
                    if (window.maxInFlight() > limit) {
                        return limit; // calls admitted before the cut: the standing queue is still draining
                    }
                    noLoadRtt = window.minRttNanos(); // every call admitted under the lowered limit: the drained floor
                    int restore = restoreLimit;
                    restoreLimit = 0;
                    skipWindow = true;
                    return restore;
                }
                if (skipWindow) {
                    skipWindow = false;
                    return limit;
                }
                samplesSinceProbe += window.samples();
                if (samplesSinceProbe >= (long) probeMultiplier * limit) {
                    samplesSinceProbe = 0;
                    if (2L * window.maxInFlight() < limit) {
                        noLoadRtt = window.minRttNanos(); // under-used: nothing stands in a queue, measure now
                        return limit;
                    }
                    // Probe: forget the old floor. This window's floor includes whatever queue stands at the
                    // dependency (taken for the no-load latency, the limit would ratchet up with every probe),
                    // so halve the limit until a window's calls were all admitted under it, and measure then.
                    restoreLimit = limit;
                    return Math.max(1, limit / 2);
                }
                if (noLoadRtt == 0 || window.minRttNanos() < noLoadRtt) {
                    noLoadRtt = window.minRttNanos();
                }
                double log = Math.max(1.0, Math.log10(limit)); // the step Vegas scales with the limit
                double target;
                if (window.dropped() > 0) {
                    target = limit - log;
                } else {
                    long queue = (long) Math.ceil(limit * (1.0 - (double) noLoadRtt / window.averageRttNanos()));
                    if (queue <= log) {
                        target = limit + 6 * log;
                    } else if (queue < 3 * log) {
                        target = limit + log;
                    } else if (queue > 6 * log) {
                        target = limit - log;
                    } else {
                        return limit;
                    }
                }
                return (int) Math.round((1 - smoothing) * limit + smoothing * target);
            }
        };
    }

    @Override
    public String toString() {
        return "VegasLimit[" + bounds() + ", smoothing=" + smoothing + ", probeMultiplier=" + probeMultiplier + "]";
    }

    /** Builds a {@link VegasLimit}; see {@link LimitBounds.Builder} for the shared setters. Not thread-safe. */
    public static final class Builder extends LimitBounds.Builder<Builder> {
        private double smoothing = 1.0;
        private int probeMultiplier = 30;

        private Builder() {}

        @Override
        Builder self() {
            return this;
        }

        /**
         * @param smoothing how far each window moves the limit toward its target, in (0, 1] (default 1: all the way)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder smoothing(double smoothing) {
            this.smoothing = Checks.inLeftOpenRange(smoothing, 0.0, 1.0, "smoothing");
            return this;
        }

        /**
         * @param multiplier the no-load latency is re-measured every {@code multiplier x limit} samples,
         *                   5 to 10,000 (default 30)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder probeMultiplier(int multiplier) {
            this.probeMultiplier = Checks.inRange(multiplier, 5, 10_000, "probeMultiplier");
            return this;
        }

        /**
         * @return a new algorithm
         * @throws IllegalArgumentException if {@code minLimit <= initialLimit <= maxLimit} does not hold
         */
        public VegasLimit build() {
            return new VegasLimit(this);
        }
    }
}
