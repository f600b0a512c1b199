package dev.vigil.bulkhead;

import dev.vigil.core.internal.Checks;
import java.time.Duration;

/**
 * Additive increase, multiplicative decrease, as TCP Reno: each window without a drop adds
 * {@code increase} to the limit; a window with a drop (or, if a timeout is set, whose mean latency
 * exceeds it) multiplies the limit by {@code backoffRatio}. Simple and robust; it finds the limit by
 * provoking drops, so it suits dependencies that signal overload with errors (429, 503, timeouts)
 * rather than latency.
 *
 * <pre>{@code
 * LimitAlgorithm aimd = AimdLimit.builder().initialLimit(20).maxLimit(200).backoffRatio(0.9).build();
 * }</pre>
 *
 * <p>Immutable and thread-safe; each limiter gets its own (stateless) estimator. The builder throws
 * {@link IllegalArgumentException} naming the parameter and its range.
 */
public final class AimdLimit extends LimitBounds {
    private final double backoffRatio;
    private final int increase;
    private final long timeoutNanos;

    private AimdLimit(Builder builder) {
        super(builder);
        this.backoffRatio = builder.backoffRatio;
        this.increase = builder.increase;
        this.timeoutNanos = builder.timeoutNanos;
    }

    /** @return a builder with the defaults described on its setters */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Estimator newEstimator() {
        return (limit, window) -> {
            boolean overloaded = window.dropped() > 0 || (timeoutNanos > 0 && window.averageRttNanos() > timeoutNanos);
            if (overloaded) {
                return Math.min(limit - 1, (int) (limit * backoffRatio)); // always a real decrease
            }
            return limit + increase;
        };
    }

    @Override
    public String toString() {
        return "AimdLimit[" + bounds() + ", backoffRatio=" + backoffRatio + ", increase=" + increase
                + (timeoutNanos > 0 ? ", timeout=" + Duration.ofNanos(timeoutNanos) : "") + "]";
    }

    /** Builds an {@link AimdLimit}; see {@link LimitBounds.Builder} for the shared setters. Not thread-safe. */
    public static final class Builder extends LimitBounds.Builder<Builder> {
        private double backoffRatio = 0.9;
        private int increase = 1;
        private long timeoutNanos;

        private Builder() {}

        @Override
        Builder self() {
            return this;
        }

        /**
         * @param ratio what the limit is multiplied by after a drop, in [0.5, 1) (default 0.9)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder backoffRatio(double ratio) {
            if (!(ratio >= 0.5 && ratio < 1.0)) {
                throw new IllegalArgumentException("backoffRatio must be in [0.5, 1.0), was " + ratio);
            }
            this.backoffRatio = ratio;
            return this;
        }

        /**
         * @param increase what each window without a drop adds to the limit, 1 to 1,000 (default 1)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder increase(int increase) {
            this.increase = Checks.inRange(increase, 1, 1000, "increase");
            return this;
        }

        /**
         * @param timeout a window whose mean latency exceeds this counts as a drop (default: none)
         * @return this builder
         * @throws IllegalArgumentException if {@code timeout} is null, not positive or too long
         */
        public Builder timeout(Duration timeout) {
            this.timeoutNanos = Checks.positiveUpToMax(timeout, "timeout").toNanos();
            return this;
        }

        /**
         * @return a new algorithm
         * @throws IllegalArgumentException if {@code minLimit <= initialLimit <= maxLimit} does not hold
         */
        public AimdLimit build() {
            return new AimdLimit(this);
        }
    }
}
