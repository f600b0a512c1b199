package dev.vigil.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.circuitbreaker.CircuitBreaker.State;
import dev.vigil.circuitbreaker.CircuitBreaker.Stats;
import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Backoff;
import dev.vigil.core.CallNotPermittedException;
import dev.vigil.core.Classifier;
import dev.vigil.core.Jitter;
import dev.vigil.core.Outcome;
import dev.vigil.core.Pipeline;
import dev.vigil.core.RejectedException;
import dev.vigil.core.Retry;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.health.Health;
import dev.vigil.core.metrics.MetricsSink;
import dev.vigil.core.metrics.VigilMetrics;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.ManualTicker;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class CircuitBreakerTest {
    private static final long SECOND = 1_000_000_000L;
    private static final long MILLI = 1_000_000L;

    private final ManualScheduler scheduler = new ManualScheduler();
    private final ManualTicker ticker = scheduler.ticker();
    private final List<PolicyEvent> events = new CopyOnWriteArrayList<>();

    private CircuitBreaker.Builder breaker() {
        return CircuitBreaker.builder().name("inventory").scheduler(scheduler).listener(events::add);
    }

    // ------------------------------------------------------------------ helpers

    private static long admit(CircuitBreaker breaker) {
        long permit = breaker.tryAcquirePermit();
        assertTrue(permit >= 0, "expected a permit in state " + breaker.state());
        return permit;
    }

    private static void record(CircuitBreaker breaker, Outcome outcome) {
        breaker.complete(admit(breaker), outcome, 0L);
    }

    private static void record(CircuitBreaker breaker, Outcome outcome, int times) {
        for (int i = 0; i < times; i++) {
            record(breaker, outcome);
        }
    }

    /** Runs a call through {@link CircuitBreaker#call} that takes {@code millis} of virtual time and succeeds or throws. */
    private String timedCall(CircuitBreaker breaker, long millis, boolean fail) throws Exception {
        return breaker.call(() -> {
            ticker.advanceNanos(millis * MILLI);
            if (fail) {
                throw new IOException("down after " + millis + " ms");
            }
            return "ok";
        });
    }

    private static void assertStats(CircuitBreaker breaker, State state, long calls, long failed, long slow) {
        assertEquals(new Stats(state, calls, failed, slow), breaker.stats());
    }

    private static void assertMessage(String expectedPrefix, Executable executable) {
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, executable);
        assertTrue(thrown.getMessage().startsWith(expectedPrefix), "message: " + thrown.getMessage());
    }

    private <E extends PolicyEvent> List<E> eventsOf(Class<E> type) {
        List<E> found = new ArrayList<>();
        for (PolicyEvent event : events) {
            if (type.isInstance(event)) {
                found.add(type.cast(event));
            }
        }
        return found;
    }

    private List<String> transitions() {
        List<String> found = new ArrayList<>();
        for (PolicyEvent.StateChanged changed : eventsOf(PolicyEvent.StateChanged.class)) {
            found.add(changed.from() + "->" + changed.to());
        }
        return found;
    }

    private PolicyEvent.StateChanged lastTransition() {
        List<PolicyEvent.StateChanged> changes = eventsOf(PolicyEvent.StateChanged.class);
        assertFalse(changes.isEmpty(), "no transition");
        return changes.get(changes.size() - 1);
    }

    private static String pct(double value) {
        return String.format("%.1f", value); // the breaker formats its reasons with the default locale
    }

    private static CallNotPermittedException rejectedCall(CircuitBreaker breaker) {
        AtomicInteger invoked = new AtomicInteger();
        CallNotPermittedException rejected = assertThrows(CallNotPermittedException.class, () -> breaker.call(() -> {
            invoked.incrementAndGet();
            return "ran";
        }));
        assertEquals(0, invoked.get(), "a rejected call must not run");
        return rejected;
    }

    // ------------------------------------------------------------------ count window

    @Test
    void countWindowOpensAtTheFailureRateOnlyOnceMinimumCallsAreRecorded() {
        CircuitBreaker breaker = breaker().countWindow(10).minimumCalls(5).failureRateThreshold(50).build();
        record(breaker, Outcome.FAILURE, 4);
        assertEquals(State.CLOSED, breaker.state(), "100% failures, but only 4 of the 5 minimum calls");
        assertStats(breaker, State.CLOSED, 4, 4, 0);
        record(breaker, Outcome.FAILURE);
        assertEquals(State.OPEN, breaker.state());
        PolicyEvent.StateChanged opened = lastTransition();
        assertEquals("CLOSED", opened.from());
        assertEquals("OPEN", opened.to());
        assertEquals("failure rate " + pct(100) + "% >= 50.0% over 5 calls", opened.reason());
        assertEquals("circuitbreaker", opened.policyKind());
        assertEquals("inventory", opened.policyName());
        // The window that tripped stays visible while open.
        assertStats(breaker, State.OPEN, 5, 5, 0);
    }

    @Test
    void failureRateOpensExactlyAtTheThresholdNotBelow() {
        CircuitBreaker breaker = breaker().countWindow(10).minimumCalls(5).failureRateThreshold(50).build();
        record(breaker, Outcome.SUCCESS, 5);
        record(breaker, Outcome.FAILURE, 4);
        assertEquals(State.CLOSED, breaker.state(), "4 of 9 failed: 44% < 50%");
        assertEquals(100.0 * 4 / 9, breaker.stats().failureRate(), 1e-9);
        record(breaker, Outcome.FAILURE);
        assertEquals(State.OPEN, breaker.state(), "5 of 10 failed: 50% >= 50%");
        assertEquals("failure rate " + pct(50) + "% >= 50.0% over 10 calls", lastTransition().reason());
    }

    @Test
    void countWindowEvictsTheOldestCallsOneByOne() {
        CircuitBreaker breaker = breaker().countWindow(4).minimumCalls(4).failureRateThreshold(50).build();
        record(breaker, Outcome.FAILURE, 2);
        record(breaker, Outcome.SUCCESS, 2);
        assertStats(breaker, State.CLOSED, 4, 2, 0); // [F F S S]: 50%, but reached by successes
        record(breaker, Outcome.SUCCESS);
        assertStats(breaker, State.CLOSED, 4, 1, 0); // the first failure left the window
        record(breaker, Outcome.SUCCESS);
        assertStats(breaker, State.CLOSED, 4, 0, 0);
        record(breaker, Outcome.FAILURE);
        assertStats(breaker, State.CLOSED, 4, 1, 0); // 25%
        assertEquals(State.CLOSED, breaker.state());
        record(breaker, Outcome.FAILURE);
        assertEquals(State.OPEN, breaker.state(), "[S S F F]: 50%");
        assertStats(breaker, State.OPEN, 4, 2, 0);
    }

    @Test
    void windowOfOneJudgesOnlyTheLastCall() {
        CircuitBreaker breaker = breaker().countWindow(1).failureRateThreshold(100).build();
        record(breaker, Outcome.SUCCESS, 3);
        assertStats(breaker, State.CLOSED, 1, 0, 0);
        record(breaker, Outcome.FAILURE);
        assertEquals(State.OPEN, breaker.state());
    }

    @Test
    void aSuccessNeverOpensButTheNextFailureDoes() {
        CircuitBreaker breaker = breaker().countWindow(4).minimumCalls(4).failureRateThreshold(50).build();
        record(breaker, Outcome.FAILURE, 3);
        record(breaker, Outcome.SUCCESS);
        assertEquals(State.CLOSED, breaker.state(), "the minimum was reached by a success: no judgement yet");
        assertEquals(75.0, breaker.stats().failureRate());
        record(breaker, Outcome.FAILURE); // [F F F S] -> the next failure judges the window
        assertEquals(State.OPEN, breaker.state());
        assertEquals("failure rate " + pct(75) + "% >= 50.0% over 4 calls", lastTransition().reason());
    }

    @Test
    void ignoredOutcomesAreNotRecordedButCounted() throws Exception {
        CircuitBreaker breaker = breaker().countWindow(2).failureRateThreshold(50)
                .classifier(Classifier.builder().ignore(IllegalArgumentException.class).build()).build();
        for (int i = 0; i < 5; i++) {
            assertThrows(IllegalArgumentException.class, () -> breaker.call(() -> {
                throw new IllegalArgumentException("bad request");
            }));
        }
        record(breaker, Outcome.IGNORED, 3);
        assertEquals(State.CLOSED, breaker.state());
        assertStats(breaker, State.CLOSED, 0, 0, 0);
        assertEquals(8, breaker.ignoredCount());
        assertEquals(0, breaker.failureCount());
        assertEquals("ok", breaker.call(() -> "ok"));
        assertStats(breaker, State.CLOSED, 1, 0, 0);
        assertThrows(IOException.class, () -> breaker.call(() -> {
            throw new IOException("down");
        }));
        assertEquals(State.OPEN, breaker.state(), "ignored calls did not dilute the window");
    }

    // ------------------------------------------------------------------ slow calls

    @Test
    void slowSuccessesOpenAtTheSlowCallRateMeasuredInVirtualTime() throws Exception {
        CircuitBreaker breaker = breaker().countWindow(4).minimumCalls(4)
                .slowCallDuration(Duration.ofSeconds(1)).slowCallRateThreshold(50).build();
        assertTrue(breaker.measuresLatency());
        assertEquals("ok", timedCall(breaker, 0, false));
        assertEquals("ok", timedCall(breaker, 999, false)); // just under the slow-call duration
        assertEquals(0, breaker.slowCallCount());
        assertEquals("ok", timedCall(breaker, 1000, false)); // exactly the duration: slow
        assertStats(breaker, State.CLOSED, 3, 0, 1);
        assertEquals(State.CLOSED, breaker.state(), "below the minimum");
        assertEquals("ok", timedCall(breaker, 3000, false));
        assertEquals(State.OPEN, breaker.state(), "2 of 4 slow: 50%");
        assertEquals(2, breaker.slowCallCount());
        assertEquals(4, breaker.successCount());
        assertEquals("slow-call rate " + pct(50) + "% >= 50.0% over 4 calls", lastTransition().reason());
        assertEquals(ticker.read(), lastTransition().nanoTime());
    }

    @Test
    void slowFailuresCountAsSlowToo() throws Exception {
        CircuitBreaker breaker = breaker().countWindow(4).minimumCalls(4).failureRateThreshold(100)
                .slowCallDuration(Duration.ofMillis(500)).slowCallRateThreshold(50).build();
        timedCall(breaker, 10, false);
        timedCall(breaker, 10, false);
        assertThrows(IOException.class, () -> timedCall(breaker, 600, true));
        assertEquals(State.CLOSED, breaker.state());
        assertThrows(IOException.class, () -> timedCall(breaker, 500, true));
        assertEquals(State.OPEN, breaker.state(), "failure rate 50% < 100%, but 2 of 4 slow");
        assertStats(breaker, State.OPEN, 4, 2, 2);
        assertTrue(lastTransition().reason().startsWith("slow-call rate"), lastTransition().reason());
        assertEquals(2, breaker.slowCallCount());
        assertEquals(2, breaker.failureCount());
    }

    @Test
    void defaultSlowCallRateThresholdIsOneHundredPercent() throws Exception {
        CircuitBreaker breaker = breaker().countWindow(4).failureRateThreshold(100)
                .slowCallDuration(Duration.ofMillis(100)).build();
        timedCall(breaker, 200, false);
        timedCall(breaker, 200, false);
        timedCall(breaker, 200, false);
        timedCall(breaker, 50, false);
        assertStats(breaker, State.CLOSED, 4, 0, 3);
        assertEquals(State.CLOSED, breaker.state(), "3 of 4 slow: 75% < 100%");
        timedCall(breaker, 200, false); // replaces the first slow call: still 3 of 4 slow
        timedCall(breaker, 200, false);
        timedCall(breaker, 200, false);
        assertEquals(State.CLOSED, breaker.state());
        assertStats(breaker, State.CLOSED, 4, 0, 3);
        timedCall(breaker, 200, false); // evicts the fast call: 4 of 4 slow
        assertEquals(State.OPEN, breaker.state());
        assertEquals("slow-call rate " + pct(100) + "% >= 100.0% over 4 calls", lastTransition().reason());
    }

    @Test
    void withoutASlowCallDurationLatencyIsNeitherMeasuredNorCounted() throws Exception {
        CircuitBreaker breaker = breaker().countWindow(2).build();
        assertFalse(breaker.measuresLatency());
        timedCall(breaker, 3_600_000, false);
        breaker.complete(admit(breaker), Outcome.SUCCESS, Duration.ofDays(1).toNanos());
        assertEquals(0, breaker.slowCallCount());
        assertStats(breaker, State.CLOSED, 2, 0, 0);
    }

    // ------------------------------------------------------------------ consecutive failures

    @Test
    void consecutiveFailuresTripWhateverTheWindowSays() {
        CircuitBreaker breaker = breaker().countWindow(100).consecutiveFailures(3).build();
        record(breaker, Outcome.FAILURE, 2);
        record(breaker, Outcome.SUCCESS); // breaks the run
        record(breaker, Outcome.FAILURE, 2);
        assertEquals(State.CLOSED, breaker.state(), "4 failures, but at most 2 in a row; window minimum is 100");
        record(breaker, Outcome.FAILURE);
        assertEquals(State.OPEN, breaker.state());
        assertEquals("3 consecutive failures", lastTransition().reason());
    }

    @Test
    void consecutiveFailureRunStartsAfreshAfterClosing() {
        CircuitBreaker breaker = breaker().countWindow(100).consecutiveFailures(2).permittedCallsInHalfOpen(1).build();
        record(breaker, Outcome.FAILURE, 2);
        assertEquals(State.OPEN, breaker.state());
        breaker.transitionToHalfOpen();
        record(breaker, Outcome.SUCCESS);
        assertEquals(State.CLOSED, breaker.state());
        record(breaker, Outcome.FAILURE);
        assertEquals(State.CLOSED, breaker.state(), "the run before opening does not carry over");
        record(breaker, Outcome.FAILURE);
        assertEquals(State.OPEN, breaker.state());
    }

    // ------------------------------------------------------------------ time window

    @Test
    void timeWindowBucketsExpireAsVirtualTimeAdvances() {
        CircuitBreaker breaker = breaker().timeWindow(Duration.ofSeconds(10), 10).minimumCalls(3).build();
        scheduler.advance(Duration.ofMillis(500));
        record(breaker, Outcome.FAILURE); // period 0
        scheduler.advance(Duration.ofSeconds(1));
        record(breaker, Outcome.FAILURE); // period 1, at 1.5 s
        assertStats(breaker, State.CLOSED, 2, 2, 0);
        scheduler.advance(Duration.ofMillis(8499)); // 9.999 s: period 9, the window is periods 0..9
        assertStats(breaker, State.CLOSED, 2, 2, 0);
        scheduler.advance(Duration.ofMillis(1)); // 10 s: period 0 leaves the window whole
        assertStats(breaker, State.CLOSED, 1, 1, 0);
        scheduler.advance(Duration.ofSeconds(1)); // 11 s: period 1 leaves too
        assertStats(breaker, State.CLOSED, 0, 0, 0);
        record(breaker, Outcome.FAILURE);
        assertEquals(State.CLOSED, breaker.state(), "the two older failures do not count any more");
        assertStats(breaker, State.CLOSED, 1, 1, 0);
    }

    @Test
    void timeWindowOpensWhenTheFailuresFallWithinTheWindow() {
        CircuitBreaker breaker = breaker().timeWindow(Duration.ofSeconds(10), 10).minimumCalls(3).build();
        scheduler.advance(Duration.ofMillis(500));
        record(breaker, Outcome.FAILURE);
        scheduler.advance(Duration.ofSeconds(1));
        record(breaker, Outcome.FAILURE);
        scheduler.advance(Duration.ofMillis(7900)); // 9.9 s: the first failure is still in the window
        record(breaker, Outcome.FAILURE);
        assertEquals(State.OPEN, breaker.state());
        assertEquals("failure rate " + pct(100) + "% >= 50.0% over 3 calls", lastTransition().reason());
    }

    @Test
    void timeWindowSpansTheCurrentBucketAndTheFullOnesBeforeIt() {
        CircuitBreaker breaker = breaker().timeWindow(Duration.ofSeconds(4), 4).build();
        scheduler.advance(Duration.ofMillis(999)); // the last instant of period 0
        record(breaker, Outcome.SUCCESS);
        scheduler.advance(Duration.ofMillis(1)); // period 1
        record(breaker, Outcome.FAILURE);
        scheduler.advance(Duration.ofMillis(2999)); // 3.999 s: periods 0..3
        assertStats(breaker, State.CLOSED, 2, 1, 0);
        scheduler.advance(Duration.ofMillis(1)); // 4 s: periods 1..4, the success recorded 3.001 s ago is gone
        assertStats(breaker, State.CLOSED, 1, 1, 0);
        scheduler.advance(Duration.ofMillis(999));
        assertStats(breaker, State.CLOSED, 1, 1, 0);
        scheduler.advance(Duration.ofMillis(1)); // 5 s: the failure recorded 4 s ago is gone
        assertStats(breaker, State.CLOSED, 0, 0, 0);
    }

    @Test
    void timeWindowPlacesACallByTheTimeItCompleted() {
        CircuitBreaker breaker = breaker().timeWindow(Duration.ofSeconds(4), 4).minimumCalls(1).failureRateThreshold(100).build();
        long permit = admit(breaker); // starts in period 0
        scheduler.advance(Duration.ofMillis(3500));
        breaker.complete(permit, Outcome.SUCCESS, 3500 * MILLI); // completes in period 3
        scheduler.advance(Duration.ofSeconds(1)); // 4.5 s: period 0 has left the window, period 3 has not
        assertStats(breaker, State.CLOSED, 1, 0, 0);
        scheduler.advance(Duration.ofMillis(2500)); // 7 s: period 3 has left too
        assertStats(breaker, State.CLOSED, 0, 0, 0);
    }

    @Test
    void timeWindowMinimumCallsDefaultsToOneHundred() {
        CircuitBreaker breaker = breaker().timeWindow(Duration.ofMinutes(1), 60).build();
        record(breaker, Outcome.FAILURE, 99);
        assertEquals(State.CLOSED, breaker.state());
        record(breaker, Outcome.FAILURE);
        assertEquals(State.OPEN, breaker.state());
    }

    @Test
    void timeWindowSurvivesALongIdlePeriod() {
        CircuitBreaker breaker = breaker().timeWindow(Duration.ofSeconds(4), 4).minimumCalls(2).build();
        record(breaker, Outcome.FAILURE);
        // Idle for 10,000 buckets (a multiple of the ring's 4 cells: the same cell again). The scheduler
        // runs the window's timer once per bucket on the way.
        scheduler.advance(Duration.ofSeconds(10_000));
        assertStats(breaker, State.CLOSED, 0, 0, 0);
        record(breaker, Outcome.FAILURE);
        assertEquals(State.CLOSED, breaker.state(), "the failure from 10,000 s ago does not count");
        assertStats(breaker, State.CLOSED, 1, 1, 0);
    }

    @Test
    void timeWindowWorksWithNegativeTickerReadings() {
        ManualScheduler negative = new ManualScheduler(new ManualTicker(-2500 * MILLI));
        CircuitBreaker breaker = CircuitBreaker.builder().scheduler(negative).timeWindow(Duration.ofSeconds(2), 2)
                .minimumCalls(2).openDuration(Duration.ofSeconds(1)).build();
        record(breaker, Outcome.FAILURE); // -2.5 s: period -3
        negative.advance(Duration.ofMillis(1000)); // -1.5 s: period -2
        assertStats(breaker, State.CLOSED, 1, 1, 0);
        negative.advance(Duration.ofMillis(500)); // -1.0 s: period -1, window -2..-1
        assertStats(breaker, State.CLOSED, 0, 0, 0);
        record(breaker, Outcome.FAILURE);
        negative.advance(Duration.ofMillis(999)); // -1 ms: still period -1
        record(breaker, Outcome.FAILURE);
        assertEquals(State.OPEN, breaker.state());
        assertEquals(Duration.ofSeconds(1), breaker.rejection().retryAfter().orElseThrow());
        negative.advance(Duration.ofMillis(1000)); // crosses zero
        admit(breaker);
        assertEquals(State.HALF_OPEN, breaker.state());
    }

    @Test
    void timeWindowKeepsCountingWhenTheTickerWrapsAroundLongMaxValue() {
        // Ticker readings have an arbitrary origin and only their differences are meaningful, so a clock
        // that passes Long.MAX_VALUE (and wraps to negative readings) must not reset or blind the window.
        ManualScheduler late = new ManualScheduler(new ManualTicker(Long.MAX_VALUE - 1500 * MILLI));
        CircuitBreaker breaker = CircuitBreaker.builder().scheduler(late).timeWindow(Duration.ofSeconds(10), 10)
                .minimumCalls(3).build();
        record(breaker, Outcome.FAILURE);
        late.advance(Duration.ofSeconds(1));
        record(breaker, Outcome.FAILURE);
        late.advance(Duration.ofSeconds(1)); // the reading wraps around to a negative value
        record(breaker, Outcome.FAILURE);
        assertEquals(State.OPEN, breaker.state(), "3 failures within 2 s of a 10 s window; stats " + breaker.stats());
    }

    // ------------------------------------------------------------------ open

    @Test
    void openRejectsWithAStacklessExceptionWhoseRetryAfterIsTheOpenTimeLeft() {
        CircuitBreaker breaker = breaker().countWindow(2).openDuration(Duration.ofSeconds(10)).build();
        record(breaker, Outcome.FAILURE, 2);
        assertEquals(State.OPEN, breaker.state());
        long openedAt = ticker.read();
        scheduler.advance(Duration.ofSeconds(3));
        CallNotPermittedException rejected = rejectedCall(breaker);
        assertEquals(0, rejected.getStackTrace().length, "stackless");
        assertEquals("inventory", rejected.policyName());
        assertEquals(Duration.ofSeconds(7), rejected.retryAfter().orElseThrow());
        assertEquals(7 * SECOND, rejected.retryAfterNanos());
        assertEquals("circuit breaker 'inventory' is OPEN; calls are permitted again in 7000 ms", rejected.getMessage());
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit());
        assertEquals(2, breaker.rejectedCount());
        List<PolicyEvent.Rejected> rejections = eventsOf(PolicyEvent.Rejected.class);
        assertEquals(2, rejections.size());
        assertEquals("circuit breaker is OPEN", rejections.get(0).reason());
        assertEquals(7 * SECOND, rejections.get(0).retryAfterNanos());
        assertEquals(openedAt + 3 * SECOND, rejections.get(0).nanoTime());
        scheduler.advance(Duration.ofMillis(6999));
        assertEquals(Duration.ofMillis(1), breaker.rejection().retryAfter().orElseThrow());
    }

    @Test
    void openMovesToHalfOpenLazilyAtTheFirstCallAfterTheOpenDuration() {
        CircuitBreaker breaker = breaker().countWindow(2).openDuration(Duration.ofSeconds(10)).build();
        record(breaker, Outcome.FAILURE, 2);
        assertEquals(0, scheduler.pendingTasks(), "no timer without automatic transition");
        scheduler.advance(Duration.ofMillis(9999));
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit());
        scheduler.advance(Duration.ofMillis(1));
        assertEquals(State.OPEN, breaker.state(), "lazy: nothing happens until a call arrives");
        assertEquals(0, breaker.rejection().retryAfterNanos());
        long probe = admit(breaker);
        assertEquals(State.HALF_OPEN, breaker.state());
        assertEquals(List.of("CLOSED->OPEN", "OPEN->HALF_OPEN"), transitions());
        assertEquals("open duration elapsed", lastTransition().reason());
        assertEquals(ticker.read(), lastTransition().nanoTime());
        breaker.complete(probe, Outcome.SUCCESS, 0L);
        assertEquals(new Stats(State.HALF_OPEN, 1, 0, 0), breaker.stats());
    }

    @Test
    void automaticTransitionMovesToHalfOpenOnTimeWithoutCalls() {
        CircuitBreaker breaker = breaker().countWindow(2).openDuration(Duration.ofSeconds(10))
                .automaticTransitionToHalfOpen(true).build();
        record(breaker, Outcome.FAILURE, 2);
        long openedAt = ticker.read();
        assertEquals(1, scheduler.pendingTasks());
        assertEquals(10 * SECOND, scheduler.nanosUntilNextTask());
        scheduler.advance(Duration.ofMillis(9999));
        assertEquals(State.OPEN, breaker.state());
        scheduler.advance(Duration.ofMillis(1));
        assertEquals(State.HALF_OPEN, breaker.state());
        assertEquals(openedAt + 10 * SECOND, lastTransition().nanoTime());
        assertEquals(Health.Status.DEGRADED, breaker.health().status());
        assertEquals(0, scheduler.pendingTasks());
    }

    @Test
    void aManualTransitionCancelsThePendingAutomaticOne() {
        CircuitBreaker breaker = breaker().countWindow(2).openDuration(Duration.ofSeconds(10))
                .automaticTransitionToHalfOpen(true).build();
        record(breaker, Outcome.FAILURE, 2);
        assertEquals(1, scheduler.pendingTasks());
        breaker.reset();
        assertEquals(0, scheduler.pendingTasks(), "the timer is cancelled");
        scheduler.advance(Duration.ofMinutes(1));
        assertEquals(State.CLOSED, breaker.state());
    }

    @Test
    void lazyTransitionCancelsTheAutomaticTimerSoItDoesNotFireTwice() {
        CircuitBreaker breaker = breaker().countWindow(2).openDuration(Duration.ofSeconds(10))
                .automaticTransitionToHalfOpen(true).permittedCallsInHalfOpen(1).build();
        record(breaker, Outcome.FAILURE, 2);
        scheduler.advance(Duration.ofSeconds(10)); // time passes, but the timer has not run
        long probe = admit(breaker);
        assertEquals(State.HALF_OPEN, breaker.state());
        assertEquals(0, scheduler.pendingTasks());
        breaker.complete(probe, Outcome.FAILURE, 0L);
        assertEquals(State.OPEN, breaker.state());
        assertEquals(List.of("CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->OPEN"), transitions());
    }

    // ------------------------------------------------------------------ half-open

    @Test
    void halfOpenAdmitsExactlyThePermittedProbes() {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(3).build();
        assertTrue(breaker.transitionToHalfOpen());
        List<Long> probes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            probes.add(admit(breaker));
        }
        for (int i = 0; i < 5; i++) {
            assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit());
        }
        assertEquals(5, breaker.rejectedCount());
        RejectedException rejection = breaker.rejection();
        assertInstanceOf(CallNotPermittedException.class, rejection);
        assertEquals("circuit breaker 'inventory' is HALF_OPEN and all 3 probe calls are taken", rejection.getMessage());
        assertTrue(rejection.retryAfter().isEmpty(), "no max wait: unknown");
        PolicyEvent.Rejected event = eventsOf(PolicyEvent.Rejected.class).get(0);
        assertEquals("circuit breaker is HALF_OPEN", event.reason());
        assertEquals(-1L, event.retryAfterNanos());
        assertEquals(new Stats(State.HALF_OPEN, 0, 0, 0), breaker.stats());
        assertEquals(State.HALF_OPEN, breaker.state());
    }

    @Test
    void halfOpenNeverHasMoreThanThePermittedProbesInFlightUnderConcurrency() throws Exception {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(5).build();
        breaker.transitionToHalfOpen();
        int threads = 8;
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger mostInFlight = new AtomicInteger();
        AtomicInteger admitted = new AtomicInteger();
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> workers = new ArrayList<>();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread worker = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < 20_000; i++) {
                        long permit = breaker.tryAcquirePermit();
                        if (permit != AdmissionPolicy.REJECTED) {
                            admitted.incrementAndGet();
                            mostInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                            inFlight.decrementAndGet();
                            if (i % 2 == 0) {
                                breaker.release(permit);
                            } else {
                                breaker.complete(permit, Outcome.IGNORED, 0L);
                            }
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            workers.add(worker);
            worker.start();
        }
        for (Thread worker : workers) {
            worker.join();
        }
        assertTrue(errors.isEmpty(), errors.toString());
        assertTrue(mostInFlight.get() <= 5, "at most 5 probes in flight, saw " + mostInFlight.get());
        assertTrue(admitted.get() >= 5, "probes were admitted");
        assertEquals(new Stats(State.HALF_OPEN, 0, 0, 0), breaker.stats());
        assertEquals(State.HALF_OPEN, breaker.state());
        for (int i = 0; i < 5; i++) {
            admit(breaker); // every slot was freed
        }
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit());
    }

    @Test
    void aReleasedOrIgnoredProbeFreesItsSlot() {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(2).build();
        breaker.transitionToHalfOpen();
        long first = admit(breaker);
        long second = admit(breaker);
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit());
        breaker.release(first);
        long third = admit(breaker);
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit());
        breaker.complete(second, Outcome.IGNORED, 0L);
        long fourth = admit(breaker);
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit());
        assertEquals(new Stats(State.HALF_OPEN, 0, 0, 0), breaker.stats());
        assertEquals(1, breaker.ignoredCount());
        breaker.complete(third, Outcome.SUCCESS, 0L);
        assertEquals(State.HALF_OPEN, breaker.state(), "1 of 2 probes recorded");
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit(), "a recorded probe keeps its slot");
        breaker.complete(fourth, Outcome.SUCCESS, 0L);
        assertEquals(State.CLOSED, breaker.state());
    }

    @Test
    void anInterruptedProbeFreesItsSlotWithoutBeingCounted() {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(1).build();
        breaker.transitionToHalfOpen();
        assertThrows(InterruptedException.class, () -> breaker.call(() -> {
            throw new InterruptedException("stop");
        }));
        assertEquals(State.HALF_OPEN, breaker.state());
        assertEquals(new Stats(State.HALF_OPEN, 0, 0, 0), breaker.stats());
        assertEquals(0, breaker.failureCount());
        long probe = admit(breaker);
        breaker.complete(probe, Outcome.SUCCESS, 0L);
        assertEquals(State.CLOSED, breaker.state());
    }

    @Test
    void halfOpenClosesWhenAllProbesSucceed() throws Exception {
        CircuitBreaker breaker = breaker().countWindow(2).permittedCallsInHalfOpen(3)
                .openDuration(Duration.ofSeconds(5)).build();
        record(breaker, Outcome.FAILURE, 2);
        scheduler.advance(Duration.ofSeconds(5));
        assertEquals("ok", breaker.call(() -> "ok"));
        assertEquals("ok", breaker.call(() -> "ok"));
        assertEquals(State.HALF_OPEN, breaker.state());
        assertEquals(new Stats(State.HALF_OPEN, 2, 0, 0), breaker.stats());
        assertEquals("ok", breaker.call(() -> "ok"));
        assertEquals(State.CLOSED, breaker.state());
        assertEquals("3 probe calls: 0 failed, 0 slow", lastTransition().reason());
        assertStats(breaker, State.CLOSED, 0, 0, 0); // a fresh window
        record(breaker, Outcome.FAILURE);
        assertEquals(State.CLOSED, breaker.state(), "a single failure in a fresh window of 2");
    }

    @Test
    void halfOpenReopensWhenTheProbeFailureRateReachesTheThreshold() {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(4).failureRateThreshold(50).build();
        breaker.transitionToHalfOpen();
        record(breaker, Outcome.FAILURE, 2);
        assertEquals(State.HALF_OPEN, breaker.state(), "the decision waits for all 4 probes");
        record(breaker, Outcome.SUCCESS, 1);
        assertEquals(State.HALF_OPEN, breaker.state());
        record(breaker, Outcome.SUCCESS, 1);
        assertEquals(State.OPEN, breaker.state(), "2 of 4 probes failed: 50%");
        assertEquals("probe calls: failure rate " + pct(50) + "% >= 50.0% over 4 calls", lastTransition().reason());
        assertEquals(new Stats(State.OPEN, 0, 0, 0), breaker.stats());
    }

    @Test
    void halfOpenClosesWhenTheProbeFailureRateStaysBelowTheThreshold() {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(4).failureRateThreshold(50).build();
        breaker.transitionToHalfOpen();
        record(breaker, Outcome.FAILURE, 1);
        record(breaker, Outcome.SUCCESS, 3);
        assertEquals(State.CLOSED, breaker.state(), "1 of 4 probes failed: 25%");
        assertEquals("4 probe calls: 1 failed, 0 slow", lastTransition().reason());
    }

    @Test
    void slowProbesReopenAtTheSlowCallRate() throws Exception {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(2).slowCallDuration(Duration.ofSeconds(1))
                .slowCallRateThreshold(50).build();
        breaker.transitionToHalfOpen();
        timedCall(breaker, 10, false);
        timedCall(breaker, 1500, false);
        assertEquals(State.OPEN, breaker.state());
        assertEquals("probe calls: slow-call rate " + pct(50) + "% >= 50.0% over 2 calls", lastTransition().reason());
    }

    @Test
    void maxWaitInHalfOpenClosesWithAHealthyRecordedProbe() {
        CircuitBreaker breaker = breaker().countWindow(2).permittedCallsInHalfOpen(3)
                .openDuration(Duration.ofSeconds(10)).maxWaitInHalfOpen(Duration.ofSeconds(5)).build();
        record(breaker, Outcome.FAILURE, 2);
        scheduler.advance(Duration.ofSeconds(10));
        long first = admit(breaker);
        long hanging = admit(breaker);
        assertEquals(State.HALF_OPEN, breaker.state());
        breaker.complete(first, Outcome.SUCCESS, 0L);
        scheduler.advance(Duration.ofMillis(4999));
        assertEquals(State.HALF_OPEN, breaker.state());
        scheduler.advance(Duration.ofMillis(1));
        assertEquals(State.CLOSED, breaker.state(), "decided on time with one healthy probe");
        assertEquals("max wait in half-open: 1 probe calls: 0 failed, 0 slow", lastTransition().reason());
        // The probe that hung past the decision does not count in the new window.
        breaker.complete(hanging, Outcome.FAILURE, 0L);
        assertStats(breaker, State.CLOSED, 0, 0, 0);
        assertEquals(3, breaker.failureCount(), "it still counts in the call metrics");
    }

    @Test
    void maxWaitInHalfOpenOpensWhenNoProbeWasRecorded() {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(2).openDuration(Duration.ofSeconds(10))
                .maxWaitInHalfOpen(Duration.ofSeconds(5)).build();
        breaker.transitionToHalfOpen();
        long hanging = admit(breaker);
        scheduler.advance(Duration.ofSeconds(5));
        assertEquals(State.OPEN, breaker.state());
        assertEquals("no probe call completed within the max wait in half-open", lastTransition().reason());
        assertEquals(Duration.ofSeconds(10), breaker.rejection().retryAfter().orElseThrow());
        breaker.complete(hanging, Outcome.SUCCESS, 0L);
        assertEquals(State.OPEN, breaker.state(), "a late probe cannot close the breaker");
    }

    @Test
    void maxWaitInHalfOpenOpensWhenTheRecordedProbesFailed() {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(3).maxWaitInHalfOpen(Duration.ofSeconds(5)).build();
        breaker.transitionToHalfOpen();
        record(breaker, Outcome.FAILURE);
        admit(breaker);
        scheduler.advance(Duration.ofSeconds(5));
        assertEquals(State.OPEN, breaker.state());
        assertEquals("max wait in half-open: probe calls: failure rate " + pct(100) + "% >= 50.0% over 1 calls",
                lastTransition().reason());
    }

    @Test
    void halfOpenRejectionWithAMaxWaitTellsTheTimeUntilTheDecision() {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(1).maxWaitInHalfOpen(Duration.ofSeconds(5)).build();
        breaker.transitionToHalfOpen();
        admit(breaker);
        scheduler.advance(Duration.ofSeconds(2));
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit());
        assertEquals(3 * SECOND, eventsOf(PolicyEvent.Rejected.class).get(0).retryAfterNanos());
        assertEquals(Duration.ofSeconds(3), breaker.rejection().retryAfter().orElseThrow());
    }

    @Test
    void aLateTimerDoesNotKeepTheBreakerHalfOpen() {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(1).openDuration(Duration.ofSeconds(10))
                .maxWaitInHalfOpen(Duration.ofSeconds(5)).build();
        breaker.transitionToHalfOpen();
        admit(breaker); // hangs
        scheduler.advance(Duration.ofSeconds(5)); // the timer has not run
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit());
        assertEquals(State.OPEN, breaker.state(), "the rejected call made the overdue decision");
        assertEquals(List.of("CLOSED->HALF_OPEN", "HALF_OPEN->OPEN"), transitions());
        assertEquals(10 * SECOND, eventsOf(PolicyEvent.Rejected.class).get(0).retryAfterNanos());
    }

    @Test
    void decidingOnTheProbesCancelsTheMaxWaitTimer() {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(1).maxWaitInHalfOpen(Duration.ofSeconds(5)).build();
        breaker.transitionToHalfOpen();
        assertEquals(1, scheduler.pendingTasks());
        record(breaker, Outcome.SUCCESS);
        assertEquals(State.CLOSED, breaker.state());
        assertEquals(0, scheduler.pendingTasks());
        scheduler.advance(Duration.ofSeconds(10));
        assertEquals(State.CLOSED, breaker.state());
        assertEquals(List.of("CLOSED->HALF_OPEN", "HALF_OPEN->CLOSED"), transitions());
    }

    // ------------------------------------------------------------------ epochs

    @Test
    void aPermitFromClosedCompletedAfterATransitionDoesNotCount() {
        CircuitBreaker breaker = breaker().countWindow(2).permittedCallsInHalfOpen(1)
                .openDuration(Duration.ofSeconds(1)).build();
        long slow = admit(breaker); // admitted while closed, completes much later
        record(breaker, Outcome.FAILURE, 2);
        assertEquals(State.OPEN, breaker.state());
        scheduler.advance(Duration.ofSeconds(1));
        long probe = admit(breaker);
        assertEquals(State.HALF_OPEN, breaker.state());
        breaker.complete(slow, Outcome.FAILURE, 0L);
        assertEquals(State.HALF_OPEN, breaker.state(), "not a probe: it cannot decide");
        assertEquals(new Stats(State.HALF_OPEN, 0, 0, 0), breaker.stats());
        breaker.release(slow); // nor free a probe slot
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit());
        assertEquals(3, breaker.failureCount(), "the metrics still count it");
        breaker.complete(probe, Outcome.SUCCESS, 0L);
        assertEquals(State.CLOSED, breaker.state());
    }

    @Test
    void aPermitFromBeforeAResetDoesNotCountInTheFreshWindow() {
        CircuitBreaker breaker = breaker().countWindow(2).build();
        long first = admit(breaker);
        long second = admit(breaker);
        breaker.reset();
        breaker.complete(first, Outcome.FAILURE, 0L);
        breaker.complete(second, Outcome.FAILURE, 0L);
        assertEquals(State.CLOSED, breaker.state());
        assertStats(breaker, State.CLOSED, 0, 0, 0);
    }

    @Test
    void aProbeCompletedAfterTheHalfOpenDecisionDoesNotAffectTheNextState() {
        CircuitBreaker breaker = breaker().countWindow(2).permittedCallsInHalfOpen(2).build();
        breaker.transitionToHalfOpen();
        long first = admit(breaker);
        long second = admit(breaker);
        assertTrue(breaker.transitionToClosed());
        breaker.complete(first, Outcome.FAILURE, 0L);
        breaker.complete(second, Outcome.FAILURE, 0L);
        assertEquals(State.CLOSED, breaker.state(), "two failures would fill a window of 2 and open it");
        assertStats(breaker, State.CLOSED, 0, 0, 0);
    }

    @Test
    void aProbeFromAnEarlierHalfOpenCannotFreeASlotInTheNextOne() {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(1).openDuration(Duration.ofSeconds(1))
                .maxWaitInHalfOpen(Duration.ofSeconds(2)).build();
        breaker.transitionToHalfOpen();
        long stale = admit(breaker);
        scheduler.advance(Duration.ofSeconds(2)); // no probe recorded: open
        assertEquals(State.OPEN, breaker.state());
        scheduler.advance(Duration.ofSeconds(1));
        long current = admit(breaker);
        assertEquals(State.HALF_OPEN, breaker.state());
        breaker.release(stale);
        breaker.complete(stale, Outcome.IGNORED, 0L);
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit(), "the current probe still holds the only slot");
        breaker.complete(current, Outcome.SUCCESS, 0L);
        assertEquals(State.CLOSED, breaker.state());
    }

    // ------------------------------------------------------------------ open back-off

    private long openTime(CircuitBreaker breaker) {
        assertEquals(State.OPEN, breaker.state());
        return breaker.rejection().retryAfterNanos();
    }

    /** From OPEN: waits the open time, then fails one probe (permittedCallsInHalfOpen = 1). */
    private void failProbeAfter(CircuitBreaker breaker, long openNanos) {
        ticker.advanceNanos(openNanos);
        record(breaker, Outcome.FAILURE);
    }

    @Test
    void openDurationsGrowWithConsecutiveOpeningsAndResetAfterClosing() {
        CircuitBreaker breaker = breaker().countWindow(1).permittedCallsInHalfOpen(1)
                .openBackoff(Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(8)).withJitter(Jitter.none())).build();
        record(breaker, Outcome.FAILURE);
        List<Long> durations = new ArrayList<>();
        durations.add(openTime(breaker));
        for (int i = 0; i < 4; i++) {
            failProbeAfter(breaker, durations.get(durations.size() - 1));
            durations.add(openTime(breaker));
        }
        assertEquals(List.of(SECOND, 2 * SECOND, 4 * SECOND, 8 * SECOND, 8 * SECOND), durations);
        scheduler.advance(Duration.ofSeconds(8));
        record(breaker, Outcome.SUCCESS);
        assertEquals(State.CLOSED, breaker.state());
        record(breaker, Outcome.FAILURE);
        assertEquals(SECOND, openTime(breaker), "closing forgot the consecutive openings");
    }

    @Test
    void aManualOpeningCountsAsTheFirstOfARun() {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(1)
                .openBackoff(Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(60))).build();
        assertTrue(breaker.transitionToOpen());
        assertEquals(SECOND, openTime(breaker));
        failProbeAfter(breaker, SECOND);
        assertEquals(2 * SECOND, openTime(breaker));
        breaker.reset();
        assertTrue(breaker.transitionToOpen());
        assertEquals(SECOND, openTime(breaker), "reset forgot the consecutive openings");
    }

    @Test
    void seededJitterGivesReproducibleOpenDurationsGrowingFromThePreviousOne() {
        Backoff backoff = Backoff.exponential(Duration.ofSeconds(1), Duration.ofMinutes(10)).withJitter(Jitter.decorrelated());
        Backoff mirror = backoff.withRandom(new SplittableRandom(42));
        CircuitBreaker breaker = breaker().countWindow(1).permittedCallsInHalfOpen(1)
                .openBackoff(backoff.withRandom(new SplittableRandom(42))).build();
        record(breaker, Outcome.FAILURE);
        long previous = 0L;
        boolean jittered = false;
        for (int opening = 1; opening <= 6; opening++) {
            long expected = mirror.delayNanos(opening, previous);
            long actual = openTime(breaker);
            assertEquals(expected, actual, "opening " + opening);
            assertTrue(actual >= backoff.minDelayNanos(opening, previous) && actual <= backoff.maxDelayNanos(opening, previous));
            jittered |= actual != backoff.baseNanos(opening);
            previous = actual;
            failProbeAfter(breaker, actual);
        }
        assertTrue(jittered, "the seeded jitter moved at least one duration off the base");
    }

    @Test
    void openBackoffThatCanGiveAZeroOpenDurationIsRejected() {
        CircuitBreaker.Builder builder = breaker();
        String expected = "openBackoff must never give a zero open duration, but its first delay can be 0: ";
        assertMessage(expected, () -> builder.openBackoff(
                Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(10)).withJitter(Jitter.full())));
        assertMessage(expected, () -> builder.openBackoff(Backoff.none()));
        assertMessage(expected, () -> builder.openBackoff(Backoff.fixed(Duration.ZERO)));
        assertMessage(expected, () -> builder.openBackoff(
                Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(10)).withJitter(Jitter.proportional(1.0))));
        assertMessage("openBackoff must not be null", () -> builder.openBackoff(null));
        // Jitters whose first delay stays positive are fine.
        builder.openBackoff(Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(10)).withJitter(Jitter.equal()));
        builder.openBackoff(Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(10)).withJitter(Jitter.proportional(0.5)));
        builder.openBackoff(Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(10)).withJitter(Jitter.decorrelated()));
    }

    // ------------------------------------------------------------------ forced open, disabled, manual

    @Test
    void forcedOpenRejectsEveryCallUntilAManualTransition() throws Exception {
        CircuitBreaker breaker = breaker().openDuration(Duration.ofSeconds(1)).build();
        assertTrue(breaker.transitionToForcedOpen());
        assertFalse(breaker.transitionToForcedOpen());
        scheduler.advance(Duration.ofDays(1));
        CallNotPermittedException rejected = rejectedCall(breaker);
        assertEquals("circuit breaker 'inventory' is FORCED_OPEN", rejected.getMessage());
        assertTrue(rejected.retryAfter().isEmpty());
        assertEquals(0, rejected.getStackTrace().length);
        assertEquals(State.FORCED_OPEN, breaker.state());
        assertEquals(-1L, eventsOf(PolicyEvent.Rejected.class).get(0).retryAfterNanos());
        assertTrue(breaker.transitionToClosed());
        assertEquals("ok", breaker.call(() -> "ok"));
    }

    @Test
    void disabledAdmitsEveryCallRecordsStatsButNeverOpens() {
        CircuitBreaker breaker = breaker().countWindow(2).consecutiveFailures(1).build();
        assertTrue(breaker.transitionToDisabled());
        assertFalse(breaker.transitionToDisabled());
        record(breaker, Outcome.FAILURE, 10);
        record(breaker, Outcome.IGNORED);
        assertEquals(State.DISABLED, breaker.state());
        assertStats(breaker, State.DISABLED, 2, 2, 0);
        assertEquals(10, breaker.failureCount());
        assertEquals(Health.up(), breaker.health());
        assertTrue(breaker.transitionToClosed());
        assertStats(breaker, State.CLOSED, 0, 0, 0);
    }

    @Test
    void disabledRecordsInATimeWindowToo() {
        CircuitBreaker breaker = breaker().timeWindow(Duration.ofSeconds(2), 2).minimumCalls(1).build();
        breaker.transitionToDisabled();
        record(breaker, Outcome.FAILURE);
        assertStats(breaker, State.DISABLED, 1, 1, 0);
        scheduler.advance(Duration.ofSeconds(2));
        assertStats(breaker, State.DISABLED, 0, 0, 0);
        assertEquals(State.DISABLED, breaker.state());
    }

    @Test
    void manualTransitionsReportWhetherTheStateChanged() {
        CircuitBreaker breaker = breaker().build();
        assertFalse(breaker.transitionToClosed());
        assertTrue(breaker.transitionToOpen());
        assertFalse(breaker.transitionToOpen());
        assertTrue(breaker.transitionToHalfOpen());
        assertFalse(breaker.transitionToHalfOpen());
        assertTrue(breaker.transitionToForcedOpen());
        assertTrue(breaker.transitionToDisabled());
        assertTrue(breaker.transitionToClosed());
        assertEquals(List.of("CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->FORCED_OPEN", "FORCED_OPEN->DISABLED",
                "DISABLED->CLOSED"), transitions());
        for (PolicyEvent.StateChanged changed : eventsOf(PolicyEvent.StateChanged.class)) {
            assertEquals("manual transition", changed.reason());
        }
    }

    @Test
    void resetGivesAFreshWindowWhateverTheState() {
        CircuitBreaker breaker = breaker().countWindow(4).build();
        record(breaker, Outcome.FAILURE, 3);
        assertStats(breaker, State.CLOSED, 3, 3, 0);
        breaker.reset();
        assertEquals(State.CLOSED, breaker.state());
        assertStats(breaker, State.CLOSED, 0, 0, 0);
        assertEquals(List.of("CLOSED->CLOSED"), transitions(), "a reset of a closed breaker is still a new epoch");
        record(breaker, Outcome.FAILURE, 3);
        assertEquals(State.CLOSED, breaker.state(), "the earlier failures are forgotten");
        record(breaker, Outcome.FAILURE);
        assertEquals(State.OPEN, breaker.state());
        breaker.reset();
        assertEquals(State.CLOSED, breaker.state());
        assertStats(breaker, State.CLOSED, 0, 0, 0);
    }

    // ------------------------------------------------------------------ events, health, metrics

    @Test
    void eventsFollowAFullCycle() throws Exception {
        CircuitBreaker breaker = breaker().countWindow(2).openDuration(Duration.ofSeconds(30)).permittedCallsInHalfOpen(1).build();
        record(breaker, Outcome.FAILURE, 2);
        long openedAt = ticker.read();
        scheduler.advance(Duration.ofSeconds(10));
        rejectedCall(breaker);
        scheduler.advance(Duration.ofSeconds(20));
        assertEquals("ok", breaker.call(() -> "ok"));
        assertEquals(4, events.size());
        PolicyEvent.StateChanged opened = (PolicyEvent.StateChanged) events.get(0);
        assertEquals(new PolicyEvent.StateChanged("inventory", "circuitbreaker", openedAt, "CLOSED", "OPEN",
                "failure rate " + pct(100) + "% >= 50.0% over 2 calls"), opened);
        assertEquals(new PolicyEvent.Rejected("inventory", "circuitbreaker", openedAt + 10 * SECOND,
                "circuit breaker is OPEN", 20 * SECOND), events.get(1));
        assertEquals(new PolicyEvent.StateChanged("inventory", "circuitbreaker", openedAt + 30 * SECOND, "OPEN", "HALF_OPEN",
                "open duration elapsed"), events.get(2));
        assertEquals(new PolicyEvent.StateChanged("inventory", "circuitbreaker", openedAt + 30 * SECOND, "HALF_OPEN", "CLOSED",
                "1 probe calls: 0 failed, 0 slow"), events.get(3));
    }

    @Test
    void aBreakerWithoutListenersWorksTheSame() {
        CircuitBreaker breaker = CircuitBreaker.builder().scheduler(scheduler).countWindow(1).build();
        record(breaker, Outcome.FAILURE);
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit());
        assertEquals(1, breaker.rejectedCount());
        assertTrue(events.isEmpty());
    }

    @Test
    void healthFollowsTheState() {
        CircuitBreaker breaker = breaker().build();
        assertEquals(Health.up(), breaker.health());
        breaker.transitionToOpen();
        assertEquals(Health.down("circuit breaker is OPEN"), breaker.health());
        breaker.transitionToHalfOpen();
        assertEquals(Health.degraded("circuit breaker is HALF_OPEN, probing"), breaker.health());
        breaker.transitionToForcedOpen();
        assertEquals(Health.down("circuit breaker is FORCED_OPEN"), breaker.health());
        breaker.transitionToDisabled();
        assertEquals(Health.up(), breaker.health());
        breaker.transitionToClosed();
        assertEquals(Health.Status.UP, breaker.health().status());
        Pipeline pipeline = Pipeline.of(breaker);
        breaker.transitionToOpen();
        assertEquals(Health.Status.DOWN, pipeline.health().status());
    }

    @Test
    void metricsReadTheBreakersCountsStateAndRates() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        CircuitBreaker breaker = breaker().countWindow(4).minimumCalls(4).slowCallDuration(Duration.ofSeconds(1))
                .classifier(Classifier.builder().ignore(IllegalArgumentException.class).build()).build();
        List<Meter> meters = VigilMetrics.bind(registry, breaker);
        assertEquals(8, meters.size());
        assertEquals(0.0, gauge(registry, "vigil.circuitbreaker.state"));

        timedCall(breaker, 0, false);
        timedCall(breaker, 1500, false);
        assertThrows(IOException.class, () -> timedCall(breaker, 0, true));
        assertThrows(IllegalArgumentException.class, () -> breaker.call(() -> {
            throw new IllegalArgumentException("ignored");
        }));
        assertEquals(100.0 / 3, gauge(registry, "vigil.circuitbreaker.failure.rate"), 1e-9);
        assertEquals(100.0 / 3, gauge(registry, "vigil.circuitbreaker.slow.call.rate"), 1e-9);
        assertThrows(IOException.class, () -> timedCall(breaker, 0, true));
        assertEquals(State.OPEN, breaker.state());
        rejectedCall(breaker);

        assertEquals(2.0, calls(registry, "success"));
        assertEquals(2.0, calls(registry, "failure"));
        assertEquals(1.0, calls(registry, "ignored"));
        assertEquals(1.0, calls(registry, "rejected"));
        assertEquals(1.0, registry.find("vigil.circuitbreaker.slow.calls").tags("name", "inventory", "outcome", "slow")
                .functionCounter().count());
        assertEquals(1.0, gauge(registry, "vigil.circuitbreaker.state"));
        assertEquals(50.0, gauge(registry, "vigil.circuitbreaker.failure.rate"), 1e-9, "the window that tripped");
        assertEquals(25.0, gauge(registry, "vigil.circuitbreaker.slow.call.rate"), 1e-9);
        breaker.transitionToHalfOpen();
        assertEquals(2.0, gauge(registry, "vigil.circuitbreaker.state"));
        assertEquals(0.0, gauge(registry, "vigil.circuitbreaker.failure.rate"));
        breaker.transitionToForcedOpen();
        assertEquals(3.0, gauge(registry, "vigil.circuitbreaker.state"));
        breaker.transitionToDisabled();
        assertEquals(4.0, gauge(registry, "vigil.circuitbreaker.state"));
    }

    private static double calls(SimpleMeterRegistry registry, String outcome) {
        return registry.find(MetricsSink.CALLS).tags("name", "inventory", "kind", "circuitbreaker", "outcome", outcome)
                .functionCounter().count();
    }

    private static double gauge(SimpleMeterRegistry registry, String name) {
        return registry.find(name).tags("name", "inventory", "kind", "circuitbreaker").gauge().value();
    }

    // ------------------------------------------------------------------ composition

    @Test
    void retryWaitsForTheOpenBreakerByItsRetryAfterHint() throws Exception {
        CircuitBreaker breaker = breaker().countWindow(2).openDuration(Duration.ofSeconds(10)).permittedCallsInHalfOpen(1).build();
        Retry retry = Retry.builder().scheduler(scheduler).maxAttempts(4).backoff(Backoff.fixed(Duration.ofMillis(100)))
                .listener(events::add).build();
        Pipeline pipeline = Pipeline.of(retry, breaker);
        AtomicInteger calls = new AtomicInteger();
        long start = ticker.read();
        String result = pipeline.call(() -> {
            if (calls.incrementAndGet() <= 2) {
                throw new IOException("down " + calls.get());
            }
            return "ok";
        });
        assertEquals("ok", result);
        assertEquals(3, calls.get(), "the attempt the open breaker rejected never ran");
        assertEquals(10_100 * MILLI, ticker.read() - start, "opened at 100 ms for 10 s; the probe ran at 10.1 s");
        List<Duration> delays = new ArrayList<>();
        for (PolicyEvent.RetryScheduled scheduled : eventsOf(PolicyEvent.RetryScheduled.class)) {
            delays.add(scheduled.delay());
        }
        assertEquals(List.of(Duration.ofMillis(100), Duration.ofMillis(100), Duration.ofMillis(9900)), delays);
        assertInstanceOf(CallNotPermittedException.class, eventsOf(PolicyEvent.RetryScheduled.class).get(2).failure());
        assertEquals(State.CLOSED, breaker.state());
        assertEquals(List.of("CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->CLOSED"), transitions());
        assertEquals(1, breaker.rejectedCount());
        assertEquals(1, retry.successAfterRetryCount());
    }

    @Test
    void retryGivesUpAtOnceWhenTheOpenTimeLeftExceedsItsDeadline() {
        CircuitBreaker breaker = breaker().countWindow(2).openDuration(Duration.ofSeconds(10)).build();
        Retry retry = Retry.builder().scheduler(scheduler).maxAttempts(10).maxDuration(Duration.ofSeconds(5))
                .backoff(Backoff.fixed(Duration.ofMillis(100))).listener(events::add).build();
        Pipeline pipeline = Pipeline.of(retry, breaker);
        AtomicInteger calls = new AtomicInteger();
        long start = ticker.read();
        CallNotPermittedException rejected = assertThrows(CallNotPermittedException.class, () -> pipeline.call(() -> {
            calls.incrementAndGet();
            throw new IOException("down");
        }));
        assertEquals(2, calls.get());
        assertEquals(Duration.ofMillis(9900), rejected.retryAfter().orElseThrow());
        assertEquals(200 * MILLI, ticker.read() - start, "no waiting in vain");
        List<PolicyEvent.RetriesExhausted> exhausted = eventsOf(PolicyEvent.RetriesExhausted.class);
        assertEquals(1, exhausted.size());
        assertEquals("the retry-after hint (PT9.9S) exceeds the time left (PT4.8S)", exhausted.get(0).reason());
    }

    @Test
    void callAsyncRecordsSuccessesFailuresAndSlowCallsWhenTheStageCompletes() throws Exception {
        CircuitBreaker breaker = breaker().countWindow(10).slowCallDuration(Duration.ofSeconds(1)).build();
        CompletableFuture<String> ok = new CompletableFuture<>();
        CompletionStage<String> first = breaker.callAsync(() -> ok);
        assertStats(breaker, State.CLOSED, 0, 0, 0);
        scheduler.advance(Duration.ofSeconds(2));
        ok.complete("ok");
        assertEquals("ok", first.toCompletableFuture().join());
        assertStats(breaker, State.CLOSED, 1, 0, 1);
        CompletableFuture<String> down = new CompletableFuture<>();
        CompletionStage<String> second = breaker.callAsync(() -> down);
        IOException failure = new IOException("down");
        down.completeExceptionally(failure);
        CompletionException thrown = assertThrows(CompletionException.class, () -> second.toCompletableFuture().join());
        assertSame(failure, thrown.getCause());
        assertStats(breaker, State.CLOSED, 2, 1, 1);
        assertEquals(1, breaker.successCount());
        assertEquals(1, breaker.failureCount());
    }

    @Test
    void cancellingTheFutureOfAProbeFreesItsSlot() {
        CircuitBreaker breaker = breaker().permittedCallsInHalfOpen(1).build();
        breaker.transitionToHalfOpen();
        CompletableFuture<String> pending = new CompletableFuture<>();
        CompletableFuture<String> probe = breaker.callAsync(() -> pending).toCompletableFuture();
        CompletableFuture<String> rejected = breaker.<String>callAsync(() -> CompletableFuture.completedFuture("no")).toCompletableFuture();
        CompletionException thrown = assertThrows(CompletionException.class, rejected::join);
        assertInstanceOf(CallNotPermittedException.class, thrown.getCause());
        assertTrue(probe.cancel(true));
        assertTrue(pending.isCancelled(), "the call itself is cancelled");
        assertThrows(CancellationException.class, probe::join);
        assertEquals(0, breaker.failureCount());
        assertEquals(new Stats(State.HALF_OPEN, 0, 0, 0), breaker.stats());
        CompletableFuture<String> next = breaker.callAsync(() -> CompletableFuture.completedFuture("ok")).toCompletableFuture();
        assertEquals("ok", next.join());
        assertEquals(State.CLOSED, breaker.state());
    }

    @Test
    void callAsyncOnAnOpenBreakerFailsWithoutStartingTheCall() {
        CircuitBreaker breaker = breaker().openDuration(Duration.ofSeconds(10)).build();
        breaker.transitionToOpen();
        AtomicInteger started = new AtomicInteger();
        CompletableFuture<String> future = breaker.<String>callAsync(() -> {
            started.incrementAndGet();
            return CompletableFuture.completedFuture("ran");
        }).toCompletableFuture();
        assertTrue(future.isCompletedExceptionally());
        CompletionException thrown = assertThrows(CompletionException.class, future::join);
        CallNotPermittedException rejection = assertInstanceOf(CallNotPermittedException.class, thrown.getCause());
        assertEquals(Duration.ofSeconds(10), rejection.retryAfter().orElseThrow());
        assertEquals(0, started.get());
    }

    @Test
    void theAdmissionProtocolByHand() {
        CircuitBreaker breaker = breaker().countWindow(3).permittedCallsInHalfOpen(1).slowCallDuration(Duration.ofMillis(100)).build();
        // A call that returned, one that threw, one abandoned before it completed.
        long permit = breaker.tryAcquirePermit();
        long start = breaker.ticker().read();
        scheduler.advance(Duration.ofMillis(150));
        breaker.onResult(permit, "response", null, breaker.ticker().read() - start);
        permit = breaker.tryAcquirePermit();
        breaker.onResult(permit, null, new IOException("reset"), 0L);
        permit = breaker.tryAcquirePermit();
        breaker.release(permit);
        assertStats(breaker, State.CLOSED, 2, 1, 1);
        assertEquals(1, breaker.slowCallCount());
        assertSame(scheduler.ticker(), breaker.ticker());
        // Open: the hand-driven caller turns the rejection into an answer.
        breaker.transitionToOpen();
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit());
        assertEquals(Duration.ofSeconds(60), breaker.rejection().retryAfter().orElseThrow(), "the default open duration");
        // Half-open: a classifier that throws releases the probe rather than counting it.
        CircuitBreaker strict = breaker().name("strict").permittedCallsInHalfOpen(1).classifier((result, failure) -> {
            throw new IllegalStateException("classifier bug");
        }).build();
        strict.transitionToHalfOpen();
        long probe = admit(strict);
        IllegalStateException bug = assertThrows(IllegalStateException.class, () -> strict.onResult(probe, "r", null, 0L));
        assertEquals("classifier bug", bug.getMessage());
        assertEquals(new Stats(State.HALF_OPEN, 0, 0, 0), strict.stats());
        admit(strict); // the slot was freed
    }

    @Test
    void rejectionWhileClosedSaysTheStateChanged() {
        CircuitBreaker breaker = breaker().build();
        RejectedException rejection = breaker.rejection();
        assertInstanceOf(CallNotPermittedException.class, rejection);
        assertEquals("circuit breaker 'inventory' is CLOSED (it rejected the call, then changed state)", rejection.getMessage());
        assertTrue(rejection.retryAfter().isEmpty());
        assertEquals("inventory", rejection.policyName());
    }

    @Test
    void acquirePermitDoesNotWait() throws Exception {
        CircuitBreaker breaker = breaker().build();
        breaker.transitionToForcedOpen();
        assertEquals(AdmissionPolicy.REJECTED, breaker.acquirePermit());
        breaker.transitionToClosed();
        assertNotEquals(AdmissionPolicy.REJECTED, breaker.acquirePermit());
    }

    // ------------------------------------------------------------------ defaults and description

    @Test
    void defaultsAreTheDocumentedOnes() {
        CircuitBreaker breaker = CircuitBreaker.builder().scheduler(scheduler).build();
        assertEquals("circuitbreaker", breaker.name());
        assertEquals("circuitbreaker", breaker.kind());
        assertSame(Classifier.defaults(), breaker.classifier());
        assertEquals("CircuitBreaker[circuitbreaker, CLOSED, count window 100]", breaker.toString());
        record(breaker, Outcome.SUCCESS, 50);
        record(breaker, Outcome.FAILURE, 49);
        assertEquals(State.CLOSED, breaker.state(), "99 calls: below the default minimum of 100");
        record(breaker, Outcome.FAILURE);
        assertEquals(State.OPEN, breaker.state(), "50 of 100 failed: the default 50% threshold");
        assertEquals(60 * SECOND, breaker.rejection().retryAfterNanos());
        scheduler.advance(Duration.ofSeconds(60));
        for (int i = 0; i < 10; i++) {
            admit(breaker);
        }
        assertEquals(AdmissionPolicy.REJECTED, breaker.tryAcquirePermit(), "10 probes by default");

        CircuitBreaker named = CircuitBreaker.ofDefaults("payments");
        assertEquals("payments", named.name());
        assertEquals(State.CLOSED, named.state());
        assertMessage("name must not be null or blank, was \" \"", () -> CircuitBreaker.ofDefaults(" "));
    }

    @Test
    void countWindowDefaultsMinimumCallsToItsSize() {
        CircuitBreaker breaker = breaker().countWindow(5).build();
        record(breaker, Outcome.FAILURE, 4);
        assertEquals(State.CLOSED, breaker.state());
        record(breaker, Outcome.FAILURE);
        assertEquals(State.OPEN, breaker.state());
    }

    @Test
    void toStringDescribesTheWindow() {
        assertEquals("CircuitBreaker[inventory, CLOSED, time window PT10S in 5 buckets]",
                breaker().timeWindow(Duration.ofSeconds(10), 5).build().toString());
        CircuitBreaker breaker = breaker().timeWindow(Duration.ofSeconds(10), 5).countWindow(7).build();
        breaker.transitionToForcedOpen();
        assertEquals("CircuitBreaker[inventory, FORCED_OPEN, count window 7]", breaker.toString(), "the last window set wins");
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void ratesOutsideZeroToOneHundredAreRejected() {
        CircuitBreaker.Builder builder = breaker();
        for (String parameter : List.of("failureRateThreshold", "slowCallRateThreshold")) {
            Predicate<Double> set = value -> {
                if (parameter.equals("failureRateThreshold")) {
                    builder.failureRateThreshold(value);
                } else {
                    builder.slowCallRateThreshold(value);
                }
                return true;
            };
            assertMessage(parameter + " must be in (0.0, 100.0], was 0.0", () -> set.test(0.0));
            assertMessage(parameter + " must be in (0.0, 100.0], was -0.0", () -> set.test(-0.0));
            assertMessage(parameter + " must be in (0.0, 100.0], was -5.0", () -> set.test(-5.0));
            assertMessage(parameter + " must be in (0.0, 100.0], was 100.1", () -> set.test(100.1));
            assertMessage(parameter + " must be in (0.0, 100.0], was NaN", () -> set.test(Double.NaN));
            assertMessage(parameter + " must be in (0.0, 100.0], was Infinity", () -> set.test(Double.POSITIVE_INFINITY));
            assertTrue(set.test(Double.MIN_VALUE));
            assertTrue(set.test(100.0));
        }
    }

    @Test
    void windowParametersOutOfRangeAreRejected() {
        CircuitBreaker.Builder builder = breaker();
        assertMessage("size must be in [1, 1000000], was 0", () -> builder.countWindow(0));
        assertMessage("size must be in [1, 1000000], was -1", () -> builder.countWindow(-1));
        assertMessage("size must be in [1, 1000000], was 1000001", () -> builder.countWindow(1_000_001));
        builder.countWindow(1_000_000);
        builder.countWindow(1);
        assertMessage("buckets must be in [2, 1000], was 1", () -> builder.timeWindow(Duration.ofSeconds(10), 1));
        assertMessage("buckets must be in [2, 1000], was 1001", () -> builder.timeWindow(Duration.ofSeconds(10), 1001));
        assertMessage("window (PT1S) must split into buckets (3) of a whole number of milliseconds",
                () -> builder.timeWindow(Duration.ofSeconds(1), 3));
        assertMessage("window (PT0.001S) must split into buckets (2) of a whole number of milliseconds",
                () -> builder.timeWindow(Duration.ofMillis(1), 2));
        assertMessage("window (PT1.0000005S) must split into buckets (2) of",
                () -> builder.timeWindow(Duration.ofNanos(1_000_000_500L), 2));
        assertMessage("window must be > 0, was PT0S", () -> builder.timeWindow(Duration.ZERO, 2));
        assertMessage("window must be > 0, was PT-1S", () -> builder.timeWindow(Duration.ofSeconds(-1), 2));
        assertMessage("window must not be null", () -> builder.timeWindow(null, 2));
        assertMessage("window must be <= ", () -> builder.timeWindow(Duration.ofDays(365L * 100), 2));
        builder.timeWindow(Duration.ofMillis(2), 2);
        builder.timeWindow(Duration.ofSeconds(1), 1000);
        // A failed setter leaves the builder as it was.
        assertEquals("CircuitBreaker[inventory, CLOSED, time window PT1S in 1000 buckets]", builder.build().toString());
    }

    @Test
    void minimumCallsOutOfRangeIsRejected() {
        assertMessage("minimumCalls must be >= 1, was 0", () -> breaker().minimumCalls(0));
        assertMessage("minimumCalls must be >= 1, was -3", () -> breaker().minimumCalls(-3));
        CircuitBreaker.Builder tooMany = breaker().countWindow(10).minimumCalls(11);
        assertMessage("minimumCalls must be <= the count window's size (10)", tooMany::build);
        CircuitBreaker.Builder shrunk = breaker().minimumCalls(50).countWindow(20);
        assertMessage("minimumCalls must be <= the count window's size (20)", shrunk::build);
        breaker().countWindow(10).minimumCalls(10).build();
        breaker().timeWindow(Duration.ofSeconds(1), 2).minimumCalls(1_000_000).build(); // no count bound
    }

    @Test
    void durationsMustBePositiveAndBounded() {
        CircuitBreaker.Builder builder = breaker();
        Duration tooLong = Duration.ofDays(365L * 100);
        assertMessage("slowCallDuration must be > 0, was PT0S", () -> builder.slowCallDuration(Duration.ZERO));
        assertMessage("slowCallDuration must be > 0, was PT-0.001S", () -> builder.slowCallDuration(Duration.ofMillis(-1)));
        assertMessage("slowCallDuration must not be null", () -> builder.slowCallDuration(null));
        assertMessage("slowCallDuration must be <= ", () -> builder.slowCallDuration(tooLong));
        assertMessage("openDuration must be > 0, was PT0S", () -> builder.openDuration(Duration.ZERO));
        assertMessage("openDuration must be > 0, was PT-1S", () -> builder.openDuration(Duration.ofSeconds(-1)));
        assertMessage("openDuration must not be null", () -> builder.openDuration(null));
        assertMessage("openDuration must be <= ", () -> builder.openDuration(tooLong));
        assertMessage("maxWaitInHalfOpen must be > 0, was PT0S", () -> builder.maxWaitInHalfOpen(Duration.ZERO));
        assertMessage("maxWaitInHalfOpen must be > 0, was PT-1S", () -> builder.maxWaitInHalfOpen(Duration.ofSeconds(-1)));
        assertMessage("maxWaitInHalfOpen must not be null", () -> builder.maxWaitInHalfOpen(null));
        assertMessage("maxWaitInHalfOpen must be <= ", () -> builder.maxWaitInHalfOpen(tooLong));
        builder.slowCallDuration(Duration.ofNanos(1)).openDuration(Duration.ofNanos(1)).maxWaitInHalfOpen(Duration.ofNanos(1)).build();
    }

    @Test
    void countsOutOfRangeAreRejected() {
        CircuitBreaker.Builder builder = breaker();
        assertMessage("permittedCallsInHalfOpen must be in [1, 10000], was 0", () -> builder.permittedCallsInHalfOpen(0));
        assertMessage("permittedCallsInHalfOpen must be in [1, 10000], was -1", () -> builder.permittedCallsInHalfOpen(-1));
        assertMessage("permittedCallsInHalfOpen must be in [1, 10000], was 10001", () -> builder.permittedCallsInHalfOpen(10_001));
        assertMessage("consecutiveFailures must be >= 1, was 0", () -> builder.consecutiveFailures(0));
        assertMessage("consecutiveFailures must be >= 1, was -1", () -> builder.consecutiveFailures(-1));
        CircuitBreaker most = builder.permittedCallsInHalfOpen(CircuitBreaker.Builder.MAX_PERMITTED_IN_HALF_OPEN).build();
        most.transitionToHalfOpen();
        List<Long> probes = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            probes.add(admit(most));
        }
        assertEquals(AdmissionPolicy.REJECTED, most.tryAcquirePermit());
        for (int i = 0; i < 9_999; i++) {
            most.complete(probes.get(i), i < 4_999 ? Outcome.FAILURE : Outcome.SUCCESS, 0L);
        }
        assertEquals(new Stats(State.HALF_OPEN, 9_999, 4_999, 0), most.stats(), "16-bit fields hold 10,000 probes");
        most.complete(probes.get(9_999), Outcome.SUCCESS, 0L);
        assertEquals(State.CLOSED, most.state(), "4,999 of 10,000 failed: 49.99% < 50%");
    }

    @Test
    void slowCallRateThresholdNeedsASlowCallDuration() {
        CircuitBreaker.Builder builder = breaker().slowCallRateThreshold(80);
        assertMessage("slowCallRateThreshold needs slowCallDuration", builder::build);
        builder.slowCallDuration(Duration.ofSeconds(1)).build();
    }

    @Test
    void nullArgumentsAreRejected() {
        CircuitBreaker.Builder builder = breaker();
        assertMessage("name must not be null or blank, was null", () -> builder.name(null));
        assertMessage("name must not be null or blank, was \"\"", () -> builder.name(""));
        assertMessage("classifier must not be null", () -> builder.classifier(null));
        assertMessage("scheduler must not be null", () -> builder.scheduler(null));
        assertMessage("listener must not be null", () -> builder.listener(null));
        assertMessage("openBackoff must not be null", () -> builder.openBackoff(null));
        CircuitBreaker breaker = builder.build();
        assertMessage("outcome must not be null", () -> breaker.complete(admit(breaker), null, 0L));
        assertMessage("call must not be null", () -> breaker.callAsync(null));
        assertMessage("state must not be null", () -> new Stats(null, 0, 0, 0));
        assertMessage("counts must be >= 0, were -1, 0, 0", () -> new Stats(State.CLOSED, -1, 0, 0));
        assertMessage("counts must be >= 0, were 0, -1, 0", () -> new Stats(State.CLOSED, 0, -1, 0));
        assertMessage("counts must be >= 0, were 0, 0, -1", () -> new Stats(State.CLOSED, 0, 0, -1));
        assertEquals(0.0, new Stats(State.CLOSED, 0, 0, 0).failureRate());
        assertEquals(0.0, new Stats(State.CLOSED, 0, 0, 0).slowCallRate());
        assertEquals(25.0, new Stats(State.CLOSED, 4, 1, 2).failureRate());
        assertEquals(50.0, new Stats(State.CLOSED, 4, 1, 2).slowCallRate());
    }
}
