package dev.vigil.governor;

import dev.vigil.core.internal.Checks;
import java.time.Duration;

/**
 * What a {@link Governor} says about one requested action: a value, immutable and thread-safe.
 *
 * <pre>{@code
 * Decision decision = governor.decide(ActionRequest.of("terminate-instance", 1).capacity(fleet.size()));
 * switch (decision.verdict()) {
 *     case ALLOW -> terminate(instance);
 *     case DELAY -> later(decision.delay(), () -> terminate(instance)); // or governor.decideAndWait(...)
 *     case NEEDS_APPROVAL -> pageOnCall(decision.reason());
 *     case DENY -> log.warn("not terminating: {}", decision.reason());
 * }
 * }</pre>
 *
 * @param verdict what to do
 * @param delay   how long to wait before acting: positive for {@link Verdict#DELAY}, zero otherwise
 * @param reason  why, for people and the audit trail; never null
 */
public record Decision(Verdict verdict, Duration delay, String reason) {

    /** The four possible answers. */
    public enum Verdict {
        /** Act now. */
        ALLOW,
        /** Act, but only after {@link Decision#delay()}; the action already counts against the budget. */
        DELAY,
        /**
         * Do not act without a person's approval ({@link Governor#approve}); nothing was counted against
         * the budget (the request still counts towards a trip).
         */
        NEEDS_APPROVAL,
        /** Do not act; nothing was counted against the budget (the request still counts towards a trip). */
        DENY
    }

    /**
     * @throws IllegalArgumentException if a component is null, a DELAY's delay is not positive, or
     *                                  another verdict's delay is not zero
     */
    public Decision {
        Checks.notNull(verdict, "verdict");
        Checks.notNull(delay, "delay");
        Checks.notNull(reason, "reason");
        if (verdict == Verdict.DELAY ? delay.isZero() || delay.isNegative() : !delay.isZero()) {
            throw new IllegalArgumentException("delay must be positive for DELAY and zero otherwise, was " + delay + " for " + verdict);
        }
    }

    /** @return true for ALLOW and DELAY: the action may go ahead (after the delay) */
    public boolean permitted() {
        return verdict == Verdict.ALLOW || verdict == Verdict.DELAY;
    }

    static Decision allow(String reason) {
        return new Decision(Verdict.ALLOW, Duration.ZERO, reason);
    }

    static Decision delay(Duration delay, String reason) {
        return new Decision(Verdict.DELAY, delay, reason);
    }

    static Decision needsApproval(String reason) {
        return new Decision(Verdict.NEEDS_APPROVAL, Duration.ZERO, reason);
    }

    static Decision deny(String reason) {
        return new Decision(Verdict.DENY, Duration.ZERO, reason);
    }
}
