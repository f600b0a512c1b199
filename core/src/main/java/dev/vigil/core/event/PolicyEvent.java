package dev.vigil.core.event;

import dev.vigil.core.internal.Checks;
import java.time.Duration;

/**
 * Something a policy did that an application may want to log, count or alert on. The family is
 * sealed (on Java 21+ a pattern {@code switch} over it is exhaustive); records are immutable and
 * thread-safe.
 *
 * <p>Every event carries the policy's name and kind and the policy's {@link dev.vigil.core.time.Ticker}
 * reading when it happened ({@link #nanoTime()}, comparable only with readings of the same ticker).
 */
public sealed interface PolicyEvent
        permits PolicyEvent.StateChanged, PolicyEvent.Rejected, PolicyEvent.TimedOut, PolicyEvent.FallbackUsed,
                PolicyEvent.RetryScheduled, PolicyEvent.RetriesExhausted, PolicyEvent.HedgeStarted,
                PolicyEvent.LimitChanged, PolicyEvent.ActionDecided {

    /** @return the name of the policy that published the event */
    String policyName();

    /** @return the kind of policy, as in {@link dev.vigil.core.Policy#kind()} */
    String policyKind();

    /** @return the policy's ticker reading when the event happened */
    long nanoTime();

    /**
     * A policy moved from one state to another (a circuit breaker opening, say).
     *
     * @param policyName the policy's name
     * @param policyKind the policy's kind
     * @param nanoTime   the ticker reading at the transition
     * @param from       the state left
     * @param to         the state entered
     * @param reason     why, for people (e.g. "failure rate 62.5% >= 50.0% over 8 calls")
     */
    record StateChanged(String policyName, String policyKind, long nanoTime, String from, String to, String reason)
            implements PolicyEvent {
        /** @throws IllegalArgumentException if a text component is null */
        public StateChanged {
            Checks.notNull(policyName, "policyName");
            Checks.notNull(policyKind, "policyKind");
            Checks.notNull(from, "from");
            Checks.notNull(to, "to");
            Checks.notNull(reason, "reason");
        }
    }

    /**
     * A policy refused to admit a call.
     *
     * @param policyName      the policy's name
     * @param policyKind      the policy's kind
     * @param nanoTime        the ticker reading at the rejection
     * @param reason          why, for people
     * @param retryAfterNanos the suggested wait before trying again, or -1 if unknown
     */
    record Rejected(String policyName, String policyKind, long nanoTime, String reason, long retryAfterNanos)
            implements PolicyEvent {
        /** @throws IllegalArgumentException if a text component is null */
        public Rejected {
            Checks.notNull(policyName, "policyName");
            Checks.notNull(policyKind, "policyKind");
            Checks.notNull(reason, "reason");
        }
    }

    /**
     * A call exceeded its time limit.
     *
     * @param policyName the policy's name
     * @param policyKind the policy's kind
     * @param nanoTime   the ticker reading at the deadline
     * @param limit      the limit that applied (the policy's own, or less when an enclosing deadline was earlier)
     */
    record TimedOut(String policyName, String policyKind, long nanoTime, Duration limit) implements PolicyEvent {
        /** @throws IllegalArgumentException if a component is null */
        public TimedOut {
            Checks.notNull(policyName, "policyName");
            Checks.notNull(policyKind, "policyKind");
            Checks.notNull(limit, "limit");
        }
    }

    /**
     * A fallback replaced a failed call's outcome.
     *
     * @param policyName   the policy's name
     * @param policyKind   the policy's kind
     * @param nanoTime     the ticker reading when the fallback ran
     * @param failure      the exception that was replaced, or null if a result was classified as a failure
     * @param failedResult the result that was classified as a failure, or null if an exception was replaced
     */
    record FallbackUsed(String policyName, String policyKind, long nanoTime, Throwable failure, Object failedResult)
            implements PolicyEvent {
        /** @throws IllegalArgumentException if a name component is null */
        public FallbackUsed {
            Checks.notNull(policyName, "policyName");
            Checks.notNull(policyKind, "policyKind");
        }
    }

    /**
     * A retry will start after a delay, because the previous attempt failed.
     *
     * @param policyName   the policy's name
     * @param policyKind   the policy's kind
     * @param nanoTime     the ticker reading when the retry was scheduled
     * @param attempt      the number of the attempt that will start (2 for the first retry)
     * @param delay        the wait before it (the back-off's delay, or a longer retry-after hint)
     * @param failure      the exception of the failed attempt, or null if a result was classified as a failure
     * @param failedResult the result classified as a failure, or null if the attempt threw
     */
    record RetryScheduled(String policyName, String policyKind, long nanoTime, int attempt, Duration delay,
                          Throwable failure, Object failedResult) implements PolicyEvent {
        /** @throws IllegalArgumentException if a name component or the delay is null */
        public RetryScheduled {
            Checks.notNull(policyName, "policyName");
            Checks.notNull(policyKind, "policyKind");
            Checks.notNull(delay, "delay");
        }
    }

    /**
     * A call failed and will not be retried although its failure was retryable: attempts or time ran
     * out, the retry budget refused, or the other side asked for a longer wait than the time left.
     *
     * @param policyName the policy's name
     * @param policyKind the policy's kind
     * @param nanoTime   the ticker reading when the retry policy gave up
     * @param attempts   the attempts made
     * @param reason     why, for people (e.g. "all 3 attempts made")
     */
    record RetriesExhausted(String policyName, String policyKind, long nanoTime, int attempts, String reason)
            implements PolicyEvent {
        /** @throws IllegalArgumentException if a text component is null */
        public RetriesExhausted {
            Checks.notNull(policyName, "policyName");
            Checks.notNull(policyKind, "policyKind");
            Checks.notNull(reason, "reason");
        }
    }

    /**
     * A hedge started one more attempt beside those still running.
     *
     * @param policyName the policy's name
     * @param policyKind the policy's kind
     * @param nanoTime   the ticker reading when it started
     * @param attempt    the number of the attempt started (2 for the first hedge)
     */
    record HedgeStarted(String policyName, String policyKind, long nanoTime, int attempt) implements PolicyEvent {
        /** @throws IllegalArgumentException if a name component is null */
        public HedgeStarted {
            Checks.notNull(policyName, "policyName");
            Checks.notNull(policyKind, "policyKind");
        }
    }

    /**
     * An adaptive policy changed its limit (an adaptive concurrency limiter finding a new cap).
     *
     * @param policyName the policy's name
     * @param policyKind the policy's kind
     * @param nanoTime   the ticker reading at the change
     * @param from       the limit before
     * @param to         the limit after
     * @param reason     why, for people (e.g. "vegas: queue estimate 1.2 &lt; alpha 3.9")
     */
    record LimitChanged(String policyName, String policyKind, long nanoTime, int from, int to, String reason)
            implements PolicyEvent {
        /** @throws IllegalArgumentException if a text component is null */
        public LimitChanged {
            Checks.notNull(policyName, "policyName");
            Checks.notNull(policyKind, "policyKind");
            Checks.notNull(reason, "reason");
        }
    }

    /**
     * A governor decided on an automated action (see {@code dev.vigil.governor.Governor}): let it go
     * now, after a delay, only with a person's approval, or not at all.
     *
     * @param policyName the governor's name
     * @param policyKind the policy's kind
     * @param nanoTime   the ticker reading at the decision
     * @param action     the action class asked about (e.g. "terminate-instance")
     * @param verdict    ALLOW, DELAY, NEEDS_APPROVAL or DENY
     * @param delayNanos the wait before acting, for DELAY; 0 otherwise
     * @param reason     why, for people (e.g. "3rd unsafe action in PT1H: curve delay PT20S")
     */
    record ActionDecided(String policyName, String policyKind, long nanoTime, String action, String verdict, long delayNanos,
                         String reason) implements PolicyEvent {
        /** @throws IllegalArgumentException if a text component is null */
        public ActionDecided {
            Checks.notNull(policyName, "policyName");
            Checks.notNull(policyKind, "policyKind");
            Checks.notNull(action, "action");
            Checks.notNull(verdict, "verdict");
            Checks.notNull(reason, "reason");
        }
    }
}
