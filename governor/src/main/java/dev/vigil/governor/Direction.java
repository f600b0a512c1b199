package dev.vigil.governor;

/**
 * Which way an automated action moves a system, as a {@link Governor} sees it. Immutable.
 */
public enum Direction {
    /** Adds capacity or undoes harm (launching instances, scaling up, opening traffic): never slowed. */
    SAFE,
    /**
     * Removes capacity or is hard to undo (terminating instances, shutting down, scaling down,
     * deleting data): budgeted, slowed along a response curve, floored, escalated to a person.
     */
    UNSAFE
}
