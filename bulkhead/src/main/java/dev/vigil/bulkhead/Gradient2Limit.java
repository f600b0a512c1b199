package dev.vigil.bulkhead;

import dev.vigil.core.internal.Checks;

/**
 * Gradient2, as in Netflix concurrency-limits: it compares the recent latency (the window's mean) with
 * a long-term average, and shrinks the limit in proportion when the recent latency is higher than the
 * long-term one allows.
 *
 * <p>Per window, with {@code L} the limit, {@code shortRtt} the window's mean latency and
 * {@code longRtt} an exponential average over about {@code longWindow} samples:
 *
 * <pre>
 * gradient = clamp(tolerance * longRtt / shortRtt, 0.5, 1)   (0.5 if the window had a drop)
 * target   = L * gradient + queueSize
 * next     = (1 - smoothing) L + smoothing * target
 * </pre>
 *
 * <p>When latency recovers to less than half the long-term average, the average decays 5% per window
 * so it does not hold the limit down. It tolerates latency noise well (the tolerance lets latency rise
 * {@code tolerance} times before shrinking); because the long-term average follows sustained
 * latency, it trades a slowly rising latency for throughput. Immutable and thread-safe; each limiter gets
 * its own estimator. The builder throws {@link IllegalArgumentException} naming the parameter and its range.
 */
public final class Gradient2Limit extends LimitBounds {
    private final double tolerance;
    private final double smoothing;
    private final int queueSize;
    private final int longWindow;

    private Gradient2Limit(Builder builder) {
        super(builder);
        this.tolerance = builder.tolerance;
        this.smoothing = builder.smoothing;
        this.queueSize = builder.queueSize;
        this.longWindow = builder.longWindow;
    }

    /** @return a builder with the defaults described on its setters */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Estimator newEstimator() {
        return new Estimator() {
            private double longRtt;
            private double estimate = initialLimit();

            @Override
            public int next(int limit, Window window) {
                double shortRtt = window.averageRttNanos();
                if (longRtt == 0) {
                    longRtt = shortRtt;
                } else {
                    double weight = Math.min(1.0, 2.0 * window.samples() / (longWindow + 1.0));
                    longRtt += (shortRtt - longRtt) * weight;
                }
                if (longRtt / shortRtt > 2) {
                    longRtt *= 0.95; // latency recovered: let the long-term average follow it down
                }
                if (Math.abs(estimate - limit) >= 1) {
                    estimate = limit; // the limiter clamped or held the limit: continue from what it is
                }
                double gradient = window.dropped() > 0 ? 0.5 : Math.max(0.5, Math.min(1.0, tolerance * longRtt / shortRtt));
                double target = estimate * gradient + queueSize;
                estimate = (1 - smoothing) * estimate + smoothing * target;
                return (int) estimate;
            }
        };
    }

    @Override
    public String toString() {
        return "Gradient2Limit[" + bounds() + ", tolerance=" + tolerance + ", smoothing=" + smoothing + ", queueSize="
                + queueSize + ", longWindow=" + longWindow + "]";
    }

    /** Builds a {@link Gradient2Limit}; see {@link LimitBounds.Builder} for the shared setters. Not thread-safe. */
    public static final class Builder extends LimitBounds.Builder<Builder> {
        private double tolerance = 1.5;
        private double smoothing = 0.2;
        private int queueSize = 4;
        private int longWindow = 600;

        private Builder() {}

        @Override
        Builder self() {
            return this;
        }

        /**
         * @param tolerance how many times the long-term latency the recent latency may reach before the
         *                  limit shrinks, in [1, 10] (default 1.5)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder tolerance(double tolerance) {
            this.tolerance = Checks.inRange(tolerance, 1.0, 10.0, "tolerance");
            return this;
        }

        /**
         * @param smoothing how far each window moves the limit toward its target, in (0, 1] (default 0.2)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder smoothing(double smoothing) {
            this.smoothing = Checks.inLeftOpenRange(smoothing, 0.0, 1.0, "smoothing");
            return this;
        }

        /**
         * @param queueSize the headroom added each window, so the limit can grow, 0 to 1,000 (default 4)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder queueSize(int queueSize) {
            this.queueSize = Checks.inRange(queueSize, 0, 1000, "queueSize");
            return this;
        }

        /**
         * @param samples the span of the long-term latency average, 10 to 100,000 samples (default 600)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder longWindow(int samples) {
            this.longWindow = Checks.inRange(samples, 10, 100_000, "longWindow");
            return this;
        }

        /**
         * @return a new algorithm
         * @throws IllegalArgumentException if {@code minLimit <= initialLimit <= maxLimit} does not hold
         */
        public Gradient2Limit build() {
            return new Gradient2Limit(this);
        }
    }
}
