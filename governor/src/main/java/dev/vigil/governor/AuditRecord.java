package dev.vigil.governor;

import dev.vigil.core.internal.Checks;

/**
 * One entry of a {@link Governor}'s audit trail: a decision, an approval, a trip or a reset.
 * Immutable and thread-safe.
 *
 * @param nanoTime the governor's ticker reading when it happened
 * @param kind     what happened
 * @param action   the action class concerned ({@code "*"} for a reset)
 * @param actor    who asked, approved or reset
 * @param amount   the units requested (0 for a trip or reset)
 * @param decision the decision made (for a trip: the DENY returned; for a reset: ALLOW)
 */
public record AuditRecord(long nanoTime, Kind kind, String action, String actor, long amount, Decision decision) {

    /** What an audit entry records. */
    public enum Kind {
        /** {@link Governor#decide} answered a request. */
        DECIDED,
        /** A person approved an escalated request ({@link Governor#approve}). */
        APPROVED,
        /** A burst of unsafe requests tripped the governor. */
        TRIPPED,
        /** A person reset a tripped governor ({@link Governor#reset}). */
        RESET
    }

    /** @throws IllegalArgumentException if a component is null */
    public AuditRecord {
        Checks.notNull(kind, "kind");
        Checks.notNull(action, "action");
        Checks.notNull(actor, "actor");
        Checks.notNull(decision, "decision");
    }
}
