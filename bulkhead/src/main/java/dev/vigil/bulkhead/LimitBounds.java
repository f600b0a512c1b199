package dev.vigil.bulkhead;

import dev.vigil.core.internal.Checks;

/**
 * The initial limit and the clamps every shipped {@link LimitAlgorithm} has, with their validation,
 * written once. Immutable once built.
 */
abstract class LimitBounds implements LimitAlgorithm {
    static final int MAX_LIMIT = 1_000_000;

    private final int initialLimit;
    private final int minLimit;
    private final int maxLimit;

    LimitBounds(Builder<?> builder) {
        if (builder.minLimit > builder.maxLimit) {
            throw new IllegalArgumentException("minLimit (" + builder.minLimit + ") must be <= maxLimit (" + builder.maxLimit + ")");
        }
        if (builder.initialLimit < builder.minLimit || builder.initialLimit > builder.maxLimit) {
            throw new IllegalArgumentException("initialLimit must be in [minLimit, maxLimit] = [" + builder.minLimit + ", "
                    + builder.maxLimit + "], was " + builder.initialLimit);
        }
        this.initialLimit = builder.initialLimit;
        this.minLimit = builder.minLimit;
        this.maxLimit = builder.maxLimit;
    }

    @Override
    public final int initialLimit() {
        return initialLimit;
    }

    @Override
    public final int minLimit() {
        return minLimit;
    }

    @Override
    public final int maxLimit() {
        return maxLimit;
    }

    /** @return the common part of {@code toString()} */
    final String bounds() {
        return "initialLimit=" + initialLimit + ", minLimit=" + minLimit + ", maxLimit=" + maxLimit;
    }

    /**
     * The setters all algorithm builders share. Each validates at once and throws
     * {@link IllegalArgumentException} naming the parameter and its range; {@code build()} checks that
     * {@code minLimit <= initialLimit <= maxLimit}. Not thread-safe.
     *
     * @param <B> the concrete builder
     */
    abstract static class Builder<B extends Builder<B>> {
        int initialLimit = 20;
        int minLimit = 1;
        int maxLimit = 200;

        abstract B self();

        /**
         * @param initialLimit the limit to start with, 1 to 1,000,000 (default 20); must lie within the clamps
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public B initialLimit(int initialLimit) {
            this.initialLimit = Checks.inRange(initialLimit, 1, MAX_LIMIT, "initialLimit");
            return self();
        }

        /**
         * @param minLimit the lowest limit, 1 to 1,000,000 (default 1)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public B minLimit(int minLimit) {
            this.minLimit = Checks.inRange(minLimit, 1, MAX_LIMIT, "minLimit");
            return self();
        }

        /**
         * @param maxLimit the highest limit, 1 to 1,000,000 (default 200)
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public B maxLimit(int maxLimit) {
            this.maxLimit = Checks.inRange(maxLimit, 1, MAX_LIMIT, "maxLimit");
            return self();
        }
    }
}
