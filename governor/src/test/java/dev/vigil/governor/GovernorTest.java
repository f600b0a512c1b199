package dev.vigil.governor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.health.Health;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.ManualTicker;
import dev.vigil.governor.AuditRecord.Kind;
import dev.vigil.governor.Decision.Verdict;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * {@link Governor} against its javadoc, in virtual time ({@link ManualScheduler}): builder validation,
 * the order of the checks on an unsafe request (trip, floor, budget, escalation, curve), approvals,
 * trips and resets, events, the audit trail and waiting.
 */
class GovernorTest {
    private static final long SECOND = 1_000_000_000L;
    private static final String TERMINATE = "terminate-instance";
    private static final String LAUNCH = "launch-instance";

    private final ManualScheduler scheduler = new ManualScheduler();
    private final ManualTicker ticker = scheduler.ticker();
    private final List<PolicyEvent> events = new CopyOnWriteArrayList<>();

    // ------------------------------------------------------------------ helpers

    private Governor.Builder builder() {
        return Governor.builder().name("fleet").scheduler(scheduler).listener(events::add);
    }

    /** A governor with one unsafe class (the given rules) and one safe class. */
    private Governor governor(Consumer<Governor.UnsafeRules> rules) {
        return builder().unsafe(TERMINATE, rules).safe(LAUNCH).build();
    }

    private static ActionRequest terminate(long amount) {
        return ActionRequest.of(TERMINATE, amount).actor("autoscaler");
    }

    private static ActionRequest terminate(long amount, long capacity) {
        return terminate(amount).capacity(capacity);
    }

    private void advanceSeconds(long seconds) {
        scheduler.advance(Duration.ofSeconds(seconds));
    }

    /** Asserts an IllegalArgumentException whose message contains every fragment. */
    private static IllegalArgumentException assertRejected(Executable executable, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, executable);
        assertNotNull(e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), () -> "expected '" + fragment + "' in: " + e.getMessage());
        }
        return e;
    }

    private static void assertVerdict(Verdict expected, Decision decision) {
        assertEquals(expected, decision.verdict(), () -> "decision: " + decision);
        if (expected != Verdict.DELAY) {
            assertEquals(Duration.ZERO, decision.delay(), () -> "decision: " + decision);
        }
    }

    private static void assertDelay(Duration expected, Decision decision) {
        assertEquals(Verdict.DELAY, decision.verdict(), () -> "decision: " + decision);
        assertEquals(expected, decision.delay());
    }

    private static void assertContains(String text, String fragment) {
        assertTrue(text.contains(fragment), () -> "expected '" + fragment + "' in: " + text);
    }

    private List<PolicyEvent.StateChanged> stateChanges() {
        return events.stream().filter(PolicyEvent.StateChanged.class::isInstance).map(PolicyEvent.StateChanged.class::cast).toList();
    }

    private List<PolicyEvent.ActionDecided> actionEvents() {
        return events.stream().filter(PolicyEvent.ActionDecided.class::isInstance).map(PolicyEvent.ActionDecided.class::cast).toList();
    }

    // ------------------------------------------------------------------ builder validation

    @Test
    void aGovernorNeedsAtLeastOneActionClass() {
        assertRejected(() -> builder().build(), "actions", "at least one");
    }

    @Test
    void anActionClassCannotBeDeclaredTwice() {
        assertRejected(() -> builder().safe("a").safe("a"), "'a'", "twice");
        assertRejected(() -> builder().safe("a").unsafe("a", r -> r.budget(1, Duration.ofSeconds(1))), "'a'", "twice");
        assertRejected(() -> builder().safe(" "), "action");
    }

    @Test
    void anUnsafeActionClassNeedsABudgetOfAtLeastOne() {
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.curve(ResponseCurve.none())), "'" + TERMINATE + "'", "budget");
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(0, Duration.ofSeconds(1))), "budget must be in [1, 1000000000]", "was 0");
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(-3, Duration.ofSeconds(1))), "budget must be in [1, 1000000000]", "was -3");
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(1, Duration.ZERO)), "window must be > 0");
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(1, null)), "window");
    }

    @Test
    void theEscalationThresholdMustBeBelowTheBudget() {
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(3, Duration.ofSeconds(1)).escalateAfter(3)),
                "escalateAfter must be in [0, 2]", "was 3");
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(3, Duration.ofSeconds(1)).escalateAfter(7)),
                "escalateAfter must be in [0, 2]", "was 7");
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(3, Duration.ofSeconds(1)).escalateAfter(-1)),
                "escalateAfter must be >= 0");
        assertNotNull(builder().unsafe(TERMINATE, r -> r.budget(3, Duration.ofSeconds(1)).escalateAfter(2)).build());
        assertNotNull(builder().unsafe(TERMINATE, r -> r.budget(3, Duration.ofSeconds(1)).escalateAfter(0)).build());
    }

    @Test
    void theFloorMustBeBelowACapacityOfAtLeastOne() {
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(3, Duration.ofSeconds(1)).floor(10, 10)),
                "floor must be in [0, 9]", "was 10");
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(3, Duration.ofSeconds(1)).floor(-1, 10)),
                "floor must be in [0, 9]", "was -1");
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(3, Duration.ofSeconds(1)).floor(0, 0)),
                "capacity must be >= 1", "was 0");
        assertNotNull(builder().unsafe(TERMINATE, r -> r.budget(3, Duration.ofSeconds(1)).floor(9, 10)).build());
    }

    @Test
    void tripAtAndAuditCapacityAreRangeChecked() {
        assertRejected(() -> builder().tripAt(0, Duration.ofSeconds(1)), "requests must be in [1, 1000000]", "was 0");
        assertRejected(() -> builder().tripAt(1_000_001, Duration.ofSeconds(1)), "requests must be in [1, 1000000]");
        assertRejected(() -> builder().tripAt(5, Duration.ZERO), "window must be > 0");
        assertRejected(() -> builder().auditCapacity(0), "auditCapacity must be in [1, 10000000]", "was 0");
        assertRejected(() -> builder().auditCapacity(10_000_001), "auditCapacity must be in [1, 10000000]");
        assertRejected(() -> builder().name(" "), "name");
        assertRejected(() -> builder().scheduler(null), "scheduler");
        assertRejected(() -> builder().listener(null), "listener");
    }

    @Test
    void builtInCurvesRejectDecreasingOrOutOfRangeShapes() {
        assertRejected(() -> ResponseCurve.steps(Duration.ofSeconds(2), Duration.ofSeconds(1)), "must not decrease", "delays[1]");
        assertRejected(() -> ResponseCurve.steps(), "delays", "at least one");
        assertRejected(() -> ResponseCurve.steps(Duration.ofSeconds(-1)), "delays[0]");
        assertRejected(() -> ResponseCurve.steps(Duration.ZERO, null), "delays[1]");
        assertRejected(() -> ResponseCurve.exponential(Duration.ofSeconds(1), 0.5, Duration.ofSeconds(10)), "factor", "0.5");
        assertRejected(() -> ResponseCurve.exponential(Duration.ofSeconds(5), 2.0, Duration.ofSeconds(4)), "max must be >= first");
        assertRejected(() -> ResponseCurve.exponential(Duration.ZERO, 2.0, Duration.ofSeconds(4)), "first must be > 0");
        assertRejected(() -> ResponseCurve.linear(Duration.ofSeconds(-1)), "step");
    }

    @Test
    void builtInCurvesHaveTheDocumentedValues() {
        ResponseCurve steps = ResponseCurve.steps(Duration.ZERO, Duration.ofSeconds(5), Duration.ofSeconds(20));
        assertEquals(List.of(Duration.ZERO, Duration.ofSeconds(5), Duration.ofSeconds(20), Duration.ofSeconds(20)),
                List.of(steps.delay(0), steps.delay(1), steps.delay(2), steps.delay(9)));
        ResponseCurve linear = ResponseCurve.linear(Duration.ofSeconds(3));
        assertEquals(List.of(Duration.ZERO, Duration.ofSeconds(3), Duration.ofSeconds(12)),
                List.of(linear.delay(0), linear.delay(1), linear.delay(4)));
        ResponseCurve exponential = ResponseCurve.exponential(Duration.ofSeconds(1), 2.0, Duration.ofSeconds(5));
        assertEquals(List.of(Duration.ZERO, Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofSeconds(5),
                        Duration.ofSeconds(5)),
                List.of(exponential.delay(0), exponential.delay(1), exponential.delay(2), exponential.delay(3), exponential.delay(4),
                        exponential.delay(30)));
        assertEquals(Duration.ZERO, ResponseCurve.none().delay(1_000));
    }

    @Test
    void aCustomCurveThatDecreasesWithinTheBudgetIsRejectedAtBuild() {
        ResponseCurve dipsAtTwo = used -> used == 2 ? Duration.ofSeconds(1) : Duration.ofSeconds(5 * used);
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(5, Duration.ofMinutes(1)).curve(dipsAtTwo)),
                "curve of '" + TERMINATE + "'", "must not decrease", "for 2 used");
        // Only where it is used: a dip at or beyond the budget is never reached.
        assertNotNull(builder().unsafe(TERMINATE, r -> r.budget(2, Duration.ofMinutes(1)).curve(dipsAtTwo)).build());
    }

    @Test
    void aCustomCurveReturningNullOrNegativeIsRejectedAtBuild() {
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(5, Duration.ofMinutes(1)).curve(used -> used == 3 ? null : Duration.ZERO)),
                "curve of '" + TERMINATE + "'", "must return a delay in [0, ", "null", "for 3 used");
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(5, Duration.ofMinutes(1)).curve(used -> Duration.ofSeconds(-1))),
                "curve of '" + TERMINATE + "'", "must return a delay in [0, ", "for 0 used");
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(5, Duration.ofMinutes(1)).curve(null)), "curve");
    }

    // ------------------------------------------------------------------ requests the governor refuses to judge

    @Test
    void anUnknownActionClassIsRejectedNamingTheKnownOnes() {
        Governor governor = governor(r -> r.budget(3, Duration.ofMinutes(1)));
        assertRejected(() -> governor.decide(ActionRequest.of("reboot")), "'reboot'", "not configured", "'fleet'", LAUNCH, TERMINATE);
        assertRejected(() -> governor.used("reboot"), "'reboot'");
        assertRejected(() -> governor.decide(null), "request");
        assertTrue(governor.audit().isEmpty());
        assertTrue(events.isEmpty());
    }

    @Test
    void aFlooredActionNeedsAStatedCapacity() {
        Governor governor = governor(r -> r.budget(3, Duration.ofMinutes(1)).floor(2, 10));
        assertRejected(() -> governor.decide(terminate(1)), "must state its capacity", "floor of 2");
        assertRejected(() -> governor.approve(terminate(1), "alice"), "must state its capacity");
        // Nothing was counted, audited or published.
        assertEquals(0, governor.used(TERMINATE));
        assertTrue(governor.audit().isEmpty());
        assertTrue(events.isEmpty());
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1, 10)));
    }

    // ------------------------------------------------------------------ safe actions

    @Test
    void safeActionsAreAlwaysAllowedAtOnceAndNeverCounted() {
        Governor governor = builder().unsafe(TERMINATE, r -> r.budget(1, Duration.ofMinutes(1)).curve(ResponseCurve.linear(Duration.ofSeconds(9))))
                .safe(LAUNCH).tripAt(2, Duration.ofMinutes(1)).build();
        for (int i = 0; i < 10; i++) { // far more than the trip threshold and the budget: neither counts them
            assertVerdict(Verdict.ALLOW, governor.decide(ActionRequest.of(LAUNCH, 5)));
        }
        assertFalse(governor.isTripped());
        assertEquals(0, governor.used(LAUNCH));
        assertEquals(0, governor.used(TERMINATE));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
        // Trip it, then safe actions still go through.
        governor.decide(terminate(1));
        governor.decide(terminate(1));
        assertTrue(governor.isTripped());
        Decision safe = governor.decide(ActionRequest.of(LAUNCH, 3));
        assertVerdict(Verdict.ALLOW, safe);
        assertTrue(safe.permitted());
    }

    // ------------------------------------------------------------------ budget

    @Test
    void theBudgetDeniesBeyondItsUnitsAndFreesUpAsTheWindowSlides() {
        Governor governor = governor(r -> r.budget(3, Duration.ofSeconds(10)));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));  // t=0
        advanceSeconds(4);
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(2)));  // t=4, 3 of 3
        advanceSeconds(2);
        Decision denied = governor.decide(terminate(1));               // t=6
        assertVerdict(Verdict.DENY, denied);
        assertFalse(denied.permitted());
        assertContains(denied.reason(), "budget of 3 per PT10S");
        assertContains(denied.reason(), "3 used, 1 asked");
        assertContains(denied.reason(), "room again in PT4S");        // the unit of t=0 leaves at t=10
        assertEquals(3, governor.used(TERMINATE));                      // the denial was not counted

        advanceSeconds(3);                                              // t=9: still full
        assertVerdict(Verdict.DENY, governor.decide(terminate(1)));
        advanceSeconds(1);                                              // t=10: the unit of t=0 is out
        assertEquals(2, governor.used(TERMINATE));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
        assertVerdict(Verdict.DENY, governor.decide(terminate(1)));
        advanceSeconds(4);                                              // t=14: the two units of t=4 are out
        assertEquals(1, governor.used(TERMINATE));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(2)));
    }

    @Test
    void theReasonSaysWhenRoomFreesUpForSeveralUnits() {
        Governor governor = governor(r -> r.budget(4, Duration.ofSeconds(10)));
        governor.decide(terminate(1)); // t=0
        advanceSeconds(2);
        governor.decide(terminate(1)); // t=2
        advanceSeconds(3);
        governor.decide(terminate(2)); // t=5, 4 of 4
        advanceSeconds(1);
        Decision denied = governor.decide(terminate(2)); // needs the units of t=0 and t=2 gone: at t=12
        assertVerdict(Verdict.DENY, denied);
        assertContains(denied.reason(), "room again in PT6S");
    }

    // ------------------------------------------------------------------ response curve

    @Test
    void theCurveDelaysByTheUnitsAlreadyUsedInTheWindow() {
        Governor governor = governor(r -> r.budget(10, Duration.ofMinutes(1))
                .curve(ResponseCurve.steps(Duration.ZERO, Duration.ZERO, Duration.ofSeconds(5), Duration.ofSeconds(20))));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));     // 0 used
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));     // 1 used
        assertDelay(Duration.ofSeconds(5), governor.decide(terminate(3))); // 2 used
        Decision fourth = governor.decide(terminate(1));                   // 5 used
        assertDelay(Duration.ofSeconds(20), fourth);
        assertTrue(fourth.permitted());
        assertContains(fourth.reason(), "curve delay PT20S");
        assertEquals(6, governor.used(TERMINATE));                        // a DELAY counts at its decision
    }

    @Test
    void theCurveRelaxesAsTheWindowSlides() {
        Governor governor = governor(r -> r.budget(10, Duration.ofSeconds(30)).curve(ResponseCurve.linear(Duration.ofSeconds(2))));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
        assertDelay(Duration.ofSeconds(2), governor.decide(terminate(2)));
        assertDelay(Duration.ofSeconds(6), governor.decide(terminate(1)));
        advanceSeconds(30);
        assertEquals(0, governor.used(TERMINATE));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
    }

    // ------------------------------------------------------------------ escalation and approval

    @Test
    void beyondTheEscalationThresholdARequestNeedsAPersonAndIsNotCounted() {
        Governor governor = governor(r -> r.budget(5, Duration.ofMinutes(1)).escalateAfter(2));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
        Decision escalated = governor.decide(terminate(2));
        assertVerdict(Verdict.NEEDS_APPROVAL, escalated);
        assertFalse(escalated.permitted());
        assertContains(escalated.reason(), "more than 2 per PT1M needs a person");
        assertEquals(1, governor.used(TERMINATE));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1))); // 2 of 2: still below the threshold
        assertVerdict(Verdict.NEEDS_APPROVAL, governor.decide(terminate(1)));
        assertEquals(2, governor.used(TERMINATE));
    }

    @Test
    void escalateAfterZeroMakesEveryRequestNeedAPerson() {
        Governor governor = governor(r -> r.budget(2, Duration.ofMinutes(1)).escalateAfter(0));
        assertVerdict(Verdict.NEEDS_APPROVAL, governor.decide(terminate(1)));
        assertVerdict(Verdict.ALLOW, governor.approve(terminate(1), "alice"));
    }

    @Test
    void anApprovalLetsTheRequestThroughAtOnceAndCountsIt() {
        Governor governor = governor(r -> r.budget(5, Duration.ofMinutes(1)).escalateAfter(1)
                .curve(ResponseCurve.steps(Duration.ZERO, Duration.ofSeconds(30))));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
        ActionRequest request = terminate(2);
        assertVerdict(Verdict.NEEDS_APPROVAL, governor.decide(request));
        Decision approved = governor.approve(request, "alice");
        assertVerdict(Verdict.ALLOW, approved);                      // no curve delay: the person was the delay
        assertContains(approved.reason(), "approved");
        assertEquals(3, governor.used(TERMINATE));
        assertEquals(0, ticker.read());
        // The next unapproved request sees the approved units in its curve and threshold.
        assertVerdict(Verdict.NEEDS_APPROVAL, governor.decide(terminate(1)));
        assertRejected(() -> governor.approve(request, " "), "approver");
        assertRejected(() -> governor.approve(request, null), "approver");
    }

    @Test
    void anApprovalNeverExceedsTheBudget() {
        Governor governor = governor(r -> r.budget(3, Duration.ofMinutes(1)).escalateAfter(1));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
        assertVerdict(Verdict.ALLOW, governor.approve(terminate(1), "alice"));
        Decision tooMuch = governor.approve(terminate(2), "alice");
        assertVerdict(Verdict.DENY, tooMuch);
        assertContains(tooMuch.reason(), "budget of 3");
        assertEquals(2, governor.used(TERMINATE));
        assertVerdict(Verdict.ALLOW, governor.approve(terminate(1), "alice"));
        assertVerdict(Verdict.DENY, governor.approve(terminate(1), "alice"));
        assertEquals(3, governor.used(TERMINATE));
    }

    @Test
    void anApprovalStillRespectsTheFloor() {
        Governor governor = governor(r -> r.budget(5, Duration.ofMinutes(1)).escalateAfter(0).floor(8, 10));
        Decision denied = governor.approve(terminate(3, 10), "alice");
        assertVerdict(Verdict.DENY, denied);
        assertContains(denied.reason(), "below the floor of 8");
        assertVerdict(Verdict.ALLOW, governor.approve(terminate(2, 10), "alice"));
    }

    @Test
    void anApprovalIsDeniedWhileTripped() {
        Governor governor = builder().unsafe(TERMINATE, r -> r.budget(5, Duration.ofMinutes(1)).escalateAfter(0))
                .tripAt(1, Duration.ofMinutes(1)).build();
        ActionRequest request = terminate(1);
        assertVerdict(Verdict.NEEDS_APPROVAL, governor.decide(request));
        assertVerdict(Verdict.DENY, governor.decide(request)); // the second request trips it
        assertTrue(governor.isTripped());
        Decision approval = governor.approve(request, "alice");
        assertVerdict(Verdict.DENY, approval);
        assertContains(approval.reason(), "tripped");
        assertEquals(0, governor.used(TERMINATE));
        governor.reset("bob");
        assertVerdict(Verdict.ALLOW, governor.approve(request, "alice"));
    }

    // ------------------------------------------------------------------ floor

    @Test
    void theFloorDeniesWhatWouldLeaveTooLittleInService() {
        Governor governor = governor(r -> r.budget(10, Duration.ofMinutes(1)).floor(7, 10, Duration.ZERO));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(3, 10)));   // leaves 7
        Decision denied = governor.decide(terminate(2, 8));                 // would leave 6
        assertVerdict(Verdict.DENY, denied);
        assertContains(denied.reason(), "would leave 6 in service");
        assertContains(denied.reason(), "below the floor of 7");
        assertEquals(3, governor.used(TERMINATE));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1, 8)));    // leaves 7
        assertVerdict(Verdict.DENY, governor.decide(terminate(1, 7)));     // would leave 6
    }

    @Test
    void theFloorIsCheckedBeforeTheBudget() {
        Governor governor = governor(r -> r.budget(1, Duration.ofMinutes(1)).floor(5, 10, Duration.ZERO));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1, 10)));
        Decision denied = governor.decide(terminate(1, 5)); // both the floor and the budget refuse: the floor wins
        assertVerdict(Verdict.DENY, denied);
        assertContains(denied.reason(), "floor");
    }

    @Test
    void unitsOfDelayedActionsStillDueAreSubtractedAndOnceDueAreNot() {
        Governor governor = governor(r -> r.budget(10, Duration.ofMinutes(1)).floor(5, 10, Duration.ZERO)
                .curve(ResponseCurve.steps(Duration.ZERO, Duration.ZERO, Duration.ofSeconds(10))));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(2, 10)));              // 8 left at once
        assertDelay(Duration.ofSeconds(10), governor.decide(terminate(1, 8)));        // due at t=10: 1 pending
        assertDelay(Duration.ofSeconds(10), governor.decide(terminate(2, 8)));        // 8 - 1 - 2 = 5: ok; 3 pending
        Decision denied = governor.decide(terminate(1, 8));                             // 8 - 3 - 1 = 4 < 5
        assertVerdict(Verdict.DENY, denied);
        assertContains(denied.reason(), "would leave 4 in service (3 let through lately, counted until settled)");
        advanceSeconds(9);
        assertVerdict(Verdict.DENY, governor.decide(terminate(1, 8)));                // still due
        advanceSeconds(1);
        // Due now: the stated capacity shows them (8 - 3 = 5); a capacity of 6 after a launch leaves 5.
        assertVerdict(Verdict.DENY, governor.decide(terminate(1, 5)));
        assertDelay(Duration.ofSeconds(10), governor.decide(terminate(1, 6)));
    }

    /**
     * The javadoc: "units this governor let through whose delay has not elapsed yet are subtracted too",
     * whether or not their decision is still inside the budget window. Here the delay (5 s) is longer
     * than the window (1 s).
     */
    @Test
    void unitsOfDelayedActionsStillDueAreSubtractedEvenAfterTheirWindowSlid() {
        Governor governor = governor(r -> r.budget(5, Duration.ofSeconds(1)).floor(5, 10, Duration.ZERO)
                .curve(ResponseCurve.steps(Duration.ZERO, Duration.ofSeconds(5))));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(3, 10)));              // 7 in service
        assertDelay(Duration.ofSeconds(5), governor.decide(terminate(1, 7)));         // goes at t=5: 6 then
        advanceSeconds(2);                                                              // the window slid, the unit is still due
        Decision decision = governor.decide(terminate(2, 7));                           // 7 - 1 - 2 = 4 < 5
        assertVerdict(Verdict.DENY, decision);
    }

    // ------------------------------------------------------------------ trip and reset

    @Test
    void tooManyUnsafeRequestsTripTheGovernorUntilAPersonResetsIt() {
        Governor governor = builder().unsafe(TERMINATE, r -> r.budget(100, Duration.ofMinutes(1))).safe(LAUNCH)
                .tripAt(3, Duration.ofSeconds(10)).build();
        assertEquals(Health.up(), governor.health());
        for (int i = 0; i < 3; i++) {
            assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
            advanceSeconds(1);
        }
        assertFalse(governor.isTripped());
        Decision tripping = governor.decide(terminate(1).actor("runaway"));   // the 4th within 10 s
        assertVerdict(Verdict.DENY, tripping);
        assertContains(tripping.reason(), "tripped");
        assertContains(tripping.reason(), "runaway");
        assertTrue(governor.isTripped());
        assertEquals(3, governor.used(TERMINATE));                           // the tripping request was not counted
        Health health = governor.health();
        assertEquals(Health.Status.DOWN, health.status());
        assertContains(health.reason(), "tripped");
        assertContains(governor.toString(), "TRIPPED");

        List<PolicyEvent.StateChanged> changes = stateChanges();
        assertEquals(1, changes.size());
        assertEquals("ARMED", changes.get(0).from());
        assertEquals("TRIPPED", changes.get(0).to());
        assertEquals("fleet", changes.get(0).policyName());
        assertEquals("governor", changes.get(0).policyKind());
        assertEquals(3 * SECOND, changes.get(0).nanoTime());

        advanceSeconds(60);                                                   // time does not re-arm it
        assertVerdict(Verdict.DENY, governor.decide(terminate(1)));
        assertVerdict(Verdict.ALLOW, governor.decide(ActionRequest.of(LAUNCH)));
        List<AuditRecord> trips = governor.audit(a -> a.kind() == Kind.TRIPPED);
        assertEquals(1, trips.size());
        assertEquals(TERMINATE, trips.get(0).action());
        assertEquals("runaway", trips.get(0).actor());
        assertEquals(tripping, trips.get(0).decision());

        governor.reset("alice");
        assertFalse(governor.isTripped());
        assertEquals(Health.up(), governor.health());
        changes = stateChanges();
        assertEquals(2, changes.size());
        assertEquals("TRIPPED", changes.get(1).from());
        assertEquals("ARMED", changes.get(1).to());
        assertContains(changes.get(1).reason(), "alice");
        List<AuditRecord> resets = governor.audit(a -> a.kind() == Kind.RESET);
        assertEquals(1, resets.size());
        assertEquals("*", resets.get(0).action());
        assertEquals("alice", resets.get(0).actor());
        assertEquals(0, resets.get(0).amount());
        assertVerdict(Verdict.ALLOW, resets.get(0).decision());
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
    }

    @Test
    void requestsOfEveryUnsafeClassCountTowardsTheTripDecidedEitherWay() {
        Governor governor = builder()
                .unsafe(TERMINATE, r -> r.budget(1, Duration.ofMinutes(1)))
                .unsafe("drain-node", r -> r.budget(5, Duration.ofMinutes(1)).escalateAfter(0))
                .tripAt(3, Duration.ofMinutes(1)).build();
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
        assertVerdict(Verdict.DENY, governor.decide(terminate(1)));                          // over budget, still a request
        assertVerdict(Verdict.NEEDS_APPROVAL, governor.decide(ActionRequest.of("drain-node")));
        assertFalse(governor.isTripped());
        assertVerdict(Verdict.DENY, governor.decide(ActionRequest.of("drain-node")));        // the 4th
        assertTrue(governor.isTripped());
    }

    @Test
    void theTripWindowSlides() {
        Governor governor = builder().unsafe(TERMINATE, r -> r.budget(100, Duration.ofMinutes(1)))
                .tripAt(2, Duration.ofSeconds(10)).build();
        governor.decide(terminate(1));
        governor.decide(terminate(1));
        advanceSeconds(10);                                           // both are exactly one window old: out
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
        assertFalse(governor.isTripped());
        advanceSeconds(9);
        assertVerdict(Verdict.DENY, governor.decide(terminate(1)));   // 3 within 10 s
        assertTrue(governor.isTripped());
    }

    @Test
    void aResetWhileArmedIsOnlyAudited() {
        Governor governor = governor(r -> r.budget(1, Duration.ofMinutes(1)));
        governor.reset("alice");
        assertFalse(governor.isTripped());
        assertTrue(stateChanges().isEmpty());
        List<AuditRecord> trail = governor.audit();
        assertEquals(1, trail.size());
        assertEquals(Kind.RESET, trail.get(0).kind());
        assertContains(trail.get(0).decision().reason(), "reset while armed");
        assertRejected(() -> governor.reset(" "), "person");
        assertRejected(() -> governor.reset(null), "person");
    }

    @Test
    void aResetForgetsTheRequestsCountedTowardsTheTrip() {
        Governor governor = builder().unsafe(TERMINATE, r -> r.budget(100, Duration.ofMinutes(1)))
                .tripAt(2, Duration.ofMinutes(1)).build();
        governor.decide(terminate(1));
        governor.decide(terminate(1));
        governor.decide(terminate(1));
        assertTrue(governor.isTripped());
        governor.reset("alice");
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
        assertFalse(governor.isTripped());
    }

    // ------------------------------------------------------------------ events and audit

    @Test
    void everyDecisionIsPublishedAsActionDecided() {
        Governor governor = governor(r -> r.budget(3, Duration.ofMinutes(1)).escalateAfter(2)
                .curve(ResponseCurve.steps(Duration.ZERO, Duration.ofSeconds(4))));
        advanceSeconds(1);
        Decision[] decisions = {
                governor.decide(terminate(1)),                       // ALLOW
                governor.decide(terminate(1)),                       // DELAY 4 s
                governor.decide(terminate(1)),                       // NEEDS_APPROVAL
                governor.approve(terminate(1), "alice"),             // ALLOW (approved)
                governor.decide(terminate(1)),                       // DENY (budget)
                governor.decide(ActionRequest.of(LAUNCH)),           // ALLOW (safe)
        };
        assertEquals(List.of(Verdict.ALLOW, Verdict.DELAY, Verdict.NEEDS_APPROVAL, Verdict.ALLOW, Verdict.DENY, Verdict.ALLOW),
                java.util.Arrays.stream(decisions).map(Decision::verdict).toList());
        List<PolicyEvent.ActionDecided> published = actionEvents();
        assertEquals(decisions.length, published.size());
        for (int i = 0; i < decisions.length; i++) {
            PolicyEvent.ActionDecided event = published.get(i);
            assertEquals("fleet", event.policyName());
            assertEquals("governor", event.policyKind());
            assertEquals(SECOND, event.nanoTime());
            assertEquals(i == 5 ? LAUNCH : TERMINATE, event.action());
            assertEquals(decisions[i].verdict().name(), event.verdict());
            assertEquals(decisions[i].delay().toNanos(), event.delayNanos());
            assertEquals(decisions[i].reason(), event.reason());
        }
        assertEquals(4 * SECOND, published.get(1).delayNanos());
    }

    @Test
    void theAuditTrailKeepsEveryDecisionAndApprovalInOrder() {
        Governor governor = governor(r -> r.budget(5, Duration.ofMinutes(1)).escalateAfter(1).floor(1, 10));
        Decision first = governor.decide(terminate(1, 10).actor("autoscaler-1"));
        advanceSeconds(2);
        Decision second = governor.decide(terminate(2, 9).actor("autoscaler-2"));
        Decision approved = governor.approve(terminate(2, 9).actor("autoscaler-2"), "alice");
        Decision safe = governor.decide(ActionRequest.of(LAUNCH, 4).actor("scaler"));

        List<AuditRecord> trail = governor.audit();
        assertEquals(List.of(
                new AuditRecord(0, Kind.DECIDED, TERMINATE, "autoscaler-1", 1, first),
                new AuditRecord(2 * SECOND, Kind.DECIDED, TERMINATE, "autoscaler-2", 2, second),
                new AuditRecord(2 * SECOND, Kind.APPROVED, TERMINATE, "alice", 2, approved),
                new AuditRecord(2 * SECOND, Kind.DECIDED, LAUNCH, "scaler", 4, safe)), trail);
        assertVerdict(Verdict.NEEDS_APPROVAL, second);
        assertVerdict(Verdict.ALLOW, approved);

        assertEquals(List.of(trail.get(3)), governor.audit(a -> a.action().equals(LAUNCH)));
        assertEquals(List.of(trail.get(2)), governor.audit(a -> a.kind() == Kind.APPROVED));
        assertEquals(List.of(trail.get(1), trail.get(2)), governor.audit(a -> a.actor().equals("alice") || a.actor().equals("autoscaler-2")));
        assertTrue(governor.audit(a -> false).isEmpty());
        assertRejected(() -> governor.audit(null), "filter");
        // The trail handed out is a copy.
        trail.clear();
        assertEquals(4, governor.audit().size());
    }

    @Test
    void theAuditTrailIsBoundedAndDropsTheOldestEntries() {
        Governor governor = builder().unsafe(TERMINATE, r -> r.budget(100, Duration.ofMinutes(1))).auditCapacity(3).build();
        for (int i = 1; i <= 5; i++) {
            governor.decide(terminate(i).actor("actor-" + i));
        }
        List<AuditRecord> trail = governor.audit();
        assertEquals(List.of("actor-3", "actor-4", "actor-5"), trail.stream().map(AuditRecord::actor).toList());
        assertEquals(List.of(3L, 4L, 5L), trail.stream().map(AuditRecord::amount).toList());
        governor.reset("alice");
        assertEquals(List.of("actor-4", "actor-5", "alice"), governor.audit().stream().map(AuditRecord::actor).toList());
    }

    // ------------------------------------------------------------------ decideAndWait

    @Test
    void decideAndWaitWaitsExactlyTheDelayInVirtualTime() throws InterruptedException {
        Governor governor = governor(r -> r.budget(2, Duration.ofMinutes(1)).curve(ResponseCurve.steps(Duration.ZERO, Duration.ofSeconds(7))));
        advanceSeconds(3);
        assertVerdict(Verdict.ALLOW, governor.decideAndWait(terminate(1)));
        assertEquals(3 * SECOND, ticker.read());
        Decision delayed = governor.decideAndWait(terminate(1));
        assertDelay(Duration.ofSeconds(7), delayed);
        assertEquals(10 * SECOND, ticker.read());
        assertVerdict(Verdict.DENY, governor.decideAndWait(terminate(1)));
        assertEquals(10 * SECOND, ticker.read());
        // The DELAY was counted at its decision (t=3), not after its wait.
        assertEquals(List.of(3 * SECOND, 3 * SECOND, 10 * SECOND), governor.audit().stream().map(AuditRecord::nanoTime).toList());
    }

    @Test
    void anInterruptedWaitStillUsedTheBudget() {
        Governor governor = governor(r -> r.budget(2, Duration.ofMinutes(1)).curve(ResponseCurve.steps(Duration.ZERO, Duration.ofSeconds(7))));
        governor.decide(terminate(1));
        Thread.currentThread().interrupt();
        try {
            assertThrows(InterruptedException.class, () -> governor.decideAndWait(terminate(1)));
        } finally {
            Thread.interrupted();
        }
        assertEquals(2, governor.used(TERMINATE));
        assertEquals(0, ticker.read());
    }

    // ------------------------------------------------------------------ isolation

    @Test
    void twoGovernorsBuiltFromOneBuilderDoNotShareWindows() {
        Governor.Builder shared = builder().unsafe(TERMINATE, r -> r.budget(2, Duration.ofMinutes(1)))
                .tripAt(2, Duration.ofMinutes(1));
        Governor a = shared.build();
        Governor b = shared.build();
        assertVerdict(Verdict.ALLOW, a.decide(terminate(2)));
        assertEquals(2, a.used(TERMINATE));
        assertEquals(0, b.used(TERMINATE));
        assertVerdict(Verdict.ALLOW, b.decide(terminate(2)));
        a.decide(terminate(1));
        a.decide(terminate(1));
        assertTrue(a.isTripped());
        assertFalse(b.isTripped());
        assertEquals(4, a.audit().size());
        assertEquals(1, b.audit().size());
    }

    // ------------------------------------------------------------------ values

    @Test
    void aDecisionHasAPositiveDelayExactlyWhenItIsADelay() {
        assertEquals(Duration.ofSeconds(1), new Decision(Verdict.DELAY, Duration.ofSeconds(1), "r").delay());
        assertNotNull(new Decision(Verdict.ALLOW, Duration.ZERO, "r"));
        assertRejected(() -> new Decision(Verdict.DELAY, Duration.ZERO, "r"), "delay must be positive for DELAY", "DELAY");
        assertRejected(() -> new Decision(Verdict.DELAY, Duration.ofSeconds(-1), "r"), "delay must be positive");
        for (Verdict verdict : List.of(Verdict.ALLOW, Verdict.NEEDS_APPROVAL, Verdict.DENY)) {
            assertRejected(() -> new Decision(verdict, Duration.ofNanos(1), "r"), "zero otherwise", verdict.name());
        }
        assertRejected(() -> new Decision(null, Duration.ZERO, "r"), "verdict");
        assertRejected(() -> new Decision(Verdict.ALLOW, null, "r"), "delay");
        assertRejected(() -> new Decision(Verdict.ALLOW, Duration.ZERO, null), "reason");
        assertTrue(new Decision(Verdict.DELAY, Duration.ofSeconds(1), "r").permitted());
        assertFalse(new Decision(Verdict.NEEDS_APPROVAL, Duration.ZERO, "r").permitted());
    }

    @Test
    void anActionRequestIsValidatedAndCopiedByItsWithMethods() {
        ActionRequest plain = ActionRequest.of(TERMINATE);
        assertEquals(new ActionRequest(TERMINATE, 1, -1, "unknown"), plain);
        ActionRequest full = plain.capacity(40).actor("autoscaler");
        assertEquals(new ActionRequest(TERMINATE, 1, 40, "autoscaler"), full);
        assertEquals(-1, plain.capacity());                                     // a copy, not a change
        assertEquals(0, plain.capacity(0).capacity());
        assertRejected(() -> ActionRequest.of(TERMINATE, 0), "amount must be >= 1", "was 0");
        assertRejected(() -> ActionRequest.of(" "), "action");
        assertRejected(() -> ActionRequest.of(null), "action");
        assertRejected(() -> plain.capacity(-1), "capacity must be >= 0");
        assertRejected(() -> new ActionRequest(TERMINATE, 1, -2, "x"), "capacity", "was -2");
        assertRejected(() -> plain.actor(" "), "actor");
        assertRejected(() -> new ActionRequest(TERMINATE, 1, -1, null), "actor");
    }

    @Test
    void anAuditRecordRejectsNullComponents() {
        Decision allow = new Decision(Verdict.ALLOW, Duration.ZERO, "r");
        assertRejected(() -> new AuditRecord(0, null, "a", "b", 1, allow), "kind");
        assertRejected(() -> new AuditRecord(0, Kind.DECIDED, null, "b", 1, allow), "action");
        assertRejected(() -> new AuditRecord(0, Kind.DECIDED, "a", null, 1, allow), "actor");
        assertRejected(() -> new AuditRecord(0, Kind.DECIDED, "a", "b", 1, null), "decision");
        assertInstanceOf(AuditRecord.class, new AuditRecord(0, Kind.DECIDED, "a", "b", 1, allow));
    }

    @Test
    void unitsLetThroughCountAgainstTheFloorUntilSettledSoRacingDecidersCannotCrossIt() {
        // Two automations both see 21 in service with a floor of 20: only one may act.
        Governor governor = governor(r -> r.budget(10, Duration.ofMinutes(1)).floor(20, 100));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1, 21)));
        Decision second = governor.decide(terminate(1, 21));
        assertVerdict(Verdict.DENY, second);
        assertContains(second.reason(), "would leave 19 in service (1 let through lately, counted until settled)");
        scheduler.advance(Duration.ofSeconds(59));
        assertVerdict(Verdict.DENY, governor.decide(terminate(1, 21)));
        scheduler.advance(Duration.ofSeconds(1)); // one minute (the default settle) after it was due
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1, 21))); // settled: the stated capacity is trusted again
        // A request may state more than the configured capacity (the fleet grew): it is only for the floor's check.
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1, 150)));
    }

    @Test
    void aCurveAnsweringOutOfRangeAtDecisionTimeIsRejectedBeforeAnythingIsCounted() {
        // The build checks a curve for the first 100,000 used units; beyond them this one answers too long a delay.
        Governor governor = governor(r -> r.budget(200_000, Duration.ofHours(1))
                .curve(used -> used < 150_000 ? Duration.ZERO : Duration.ofSeconds(Long.MAX_VALUE / 2)));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(150_000)));
        assertRejected(() -> governor.decide(terminate(1)), "curve of 'terminate-instance' must return a delay in [0, ",
                "for 150000 used");
        assertEquals(150_000, governor.used(TERMINATE), "nothing counted for the request the curve failed");
        assertEquals(1, governor.audit().size(), "and nothing audited");
        scheduler.advance(Duration.ofHours(1));
        assertEquals(0, governor.used(TERMINATE), "the window empties exactly: no unit stranded or lost");
    }

    @Test
    void aBudgetNearItsLargestNeverOverflows() {
        assertRejected(() -> builder().unsafe(TERMINATE, r -> r.budget(Long.MAX_VALUE, Duration.ofHours(1))),
                "budget must be in [1, 1000000000]");
        Governor governor = governor(r -> r.budget(1_000_000_000L, Duration.ofHours(1)));
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1_000_000_000L)));
        assertVerdict(Verdict.DENY, governor.decide(terminate(Long.MAX_VALUE)));
        assertVerdict(Verdict.DENY, governor.decide(terminate(1)));
    }

    @Test
    void aRequestTheCurveFailsDoesNotCountTowardsATrip() {
        boolean[] failing = {false};
        Governor governor = builder().unsafe(TERMINATE, r -> r.budget(10, Duration.ofMinutes(1))
                        .curve(used -> failing[0] && used > 0 ? null : Duration.ZERO))
                .tripAt(2, Duration.ofMinutes(1)).build();
        failing[0] = true; // after the build's check: the curve misbehaves only at decision time
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1)));
        assertRejected(() -> governor.decide(terminate(1)), "must return a delay");
        assertRejected(() -> governor.decide(terminate(1)), "must return a delay");
        failing[0] = false;
        assertVerdict(Verdict.ALLOW, governor.decide(terminate(1))); // the second request that happened
        assertFalse(governor.isTripped());
        assertVerdict(Verdict.DENY, governor.decide(terminate(1))); // the third trips
        assertTrue(governor.isTripped());
    }
}
