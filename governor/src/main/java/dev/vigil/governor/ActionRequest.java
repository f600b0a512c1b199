package dev.vigil.governor;

import dev.vigil.core.internal.Checks;

/**
 * One action an automation wants to take, as put to a {@link Governor}. Immutable and thread-safe;
 * the {@code with}-style methods return copies.
 *
 * <pre>{@code
 * ActionRequest.of("terminate-instance", 3)   // take 3 instances out
 *         .capacity(40)                       // 40 in service now (needed when the action has a floor)
 *         .actor("autoscaler-7");             // who asks, for the audit trail
 * }</pre>
 *
 * @param action   the action class, as configured on the governor
 * @param amount   how many units the action moves (instances, nodes, percent): at least 1
 * @param capacity the capacity in service now, before the action; -1 if not stated (required for
 *                 actions with a floor)
 * @param actor    who or what asks, for the audit trail; "unknown" if not stated
 */
public record ActionRequest(String action, long amount, long capacity, String actor) {

    /** @throws IllegalArgumentException if a text is null or blank, amount below 1 or capacity below -1 */
    public ActionRequest {
        Checks.notBlank(action, "action");
        Checks.notBlank(actor, "actor");
        if (amount < 1) {
            throw new IllegalArgumentException("amount must be >= 1, was " + amount);
        }
        if (capacity < -1) {
            throw new IllegalArgumentException("capacity must be >= 0 (or -1: not stated), was " + capacity);
        }
    }

    /**
     * @param action the action class
     * @return a request for one unit, capacity not stated, actor unknown
     * @throws IllegalArgumentException if {@code action} is null or blank
     */
    public static ActionRequest of(String action) {
        return of(action, 1);
    }

    /**
     * @param action the action class
     * @param amount how many units, at least 1
     * @return a request, capacity not stated, actor unknown
     * @throws IllegalArgumentException if out of range
     */
    public static ActionRequest of(String action, long amount) {
        return new ActionRequest(action, amount, -1, "unknown");
    }

    /**
     * @param capacity the capacity in service now, at least 0
     * @return a copy stating it
     * @throws IllegalArgumentException if negative
     */
    public ActionRequest capacity(long capacity) {
        if (capacity < 0) {
            throw new IllegalArgumentException("capacity must be >= 0, was " + capacity);
        }
        return new ActionRequest(action, amount, capacity, actor);
    }

    /**
     * @param actor who or what asks, not blank
     * @return a copy naming it
     * @throws IllegalArgumentException if null or blank
     */
    public ActionRequest actor(String actor) {
        return new ActionRequest(action, amount, capacity, actor);
    }
}
