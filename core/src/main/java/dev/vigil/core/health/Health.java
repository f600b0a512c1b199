package dev.vigil.core.health;

import dev.vigil.core.internal.Checks;

/**
 * A policy's health: {@link Status#UP}, {@link Status#DEGRADED} (working, but shedding, throttling or
 * probing) or {@link Status#DOWN} (refusing calls, e.g. an open circuit), with a reason for people.
 *
 * <p>Immutable and thread-safe.
 *
 * @param status the status, not null
 * @param reason why, for people; empty for a plain UP
 */
public record Health(Status status, String reason) {
    private static final Health UP = new Health(Status.UP, "");

    /**
     * Health states, from best to worst.
     */
    public enum Status {
        /** Working normally. */
        UP,
        /** Working with reduced capacity or quality: shedding, throttling, probing. */
        DEGRADED,
        /** Not working: calls are refused or the dependency is considered down. */
        DOWN;

        /**
         * Returns the worse of the two.
         *
         * @param other another status, not null
         * @return the worse status
         */
        public Status worst(Status other) {
            return other.ordinal() > ordinal() ? other : this;
        }
    }

    /** @throws IllegalArgumentException if a component is null */
    public Health {
        Checks.notNull(status, "status");
        Checks.notNull(reason, "reason");
    }

    /** @return the shared UP health with no reason */
    public static Health up() {
        return UP;
    }

    /**
     * @param reason why, not null
     * @return a DEGRADED health
     */
    public static Health degraded(String reason) {
        return new Health(Status.DEGRADED, reason);
    }

    /**
     * @param reason why, not null
     * @return a DOWN health
     */
    public static Health down(String reason) {
        return new Health(Status.DOWN, reason);
    }
}
