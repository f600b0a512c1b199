package dev.vigil.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Classifier;
import dev.vigil.core.LoadShedException;
import dev.vigil.core.Outcome;
import dev.vigil.core.RejectedException;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.health.Health;
import dev.vigil.core.metrics.MetricsSink;
import dev.vigil.core.metrics.VigilMetrics;
import dev.vigil.core.time.ManualScheduler;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class AdaptiveThrottleTest {
    private final ManualScheduler scheduler = new ManualScheduler();
    private final ScriptedRandom random = new ScriptedRandom();
    private final List<PolicyEvent> events = new CopyOnWriteArrayList<>();

    /** A random source whose next double the test sets; 1.0 (the start value) never rejects. */
    static final class ScriptedRandom implements RandomGenerator {
        double next = 1.0;
        int draws;

        @Override
        public long nextLong() {
            throw new UnsupportedOperationException("the throttle draws doubles");
        }

        @Override
        public double nextDouble() {
            draws++;
            return next;
        }
    }

    /** K = 2, a 10 s window of 1 s buckets, no minimum traffic, no cap: the bare formula. */
    private AdaptiveThrottle.Builder throttle() {
        return AdaptiveThrottle.builder().name("search").scheduler(scheduler).random(random)
                .window(Duration.ofSeconds(10), 10).minimumRequestRate(0).maxRejectProbability(1.0).listener(events::add);
    }

    private static void record(AdaptiveThrottle throttle, Outcome outcome, int times) {
        for (int i = 0; i < times; i++) {
            long permit = throttle.tryAcquirePermit();
            assertNotEquals(AdmissionPolicy.REJECTED, permit, "setup calls must be admitted");
            throttle.complete(permit, outcome, 0L);
        }
    }

    private static double formula(double requests, double accepts, double k) {
        return (requests - k * accepts) / (requests + 1.0);
    }

    private static void assertMessage(String expectedPrefix, Executable executable) {
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, executable);
        assertTrue(thrown.getMessage().startsWith(expectedPrefix), "message: " + thrown.getMessage());
    }

    @Test
    void admitsEverythingWhileTheDependencyAcceptsEverything() throws Exception {
        AdaptiveThrottle throttle = throttle().build();
        random.next = 0.0; // would reject at any positive probability
        record(throttle, Outcome.SUCCESS, 100);
        for (int i = 0; i < 10; i++) {
            assertEquals("ok", throttle.call(() -> "ok"));
        }
        assertEquals(0.0, throttle.rejectProbability());
        assertEquals(0, throttle.rejectedCount());
        assertEquals(110, throttle.acceptedCount());
        assertEquals(0, random.draws, "a healthy window decides without drawing");
        assertEquals(Health.up(), throttle.health());
    }

    @Test
    void rejectProbabilityFollowsTheFormulaAfterFailures() {
        AdaptiveThrottle throttle = throttle().build();
        record(throttle, Outcome.SUCCESS, 2);
        record(throttle, Outcome.FAILURE, 8);
        assertEquals(6.0 / 11.0, throttle.rejectProbability(), "(10 - 2 * 2) / (10 + 1)");
        assertEquals(formula(10, 2, 2.0), throttle.rejectProbability());

        AdaptiveThrottle gentler = throttle().name("gentler").multiplier(1.5).build();
        record(gentler, Outcome.SUCCESS, 4);
        record(gentler, Outcome.FAILURE, 6);
        assertEquals(formula(10, 4, 1.5), gentler.rejectProbability(), "(10 - 1.5 * 4) / 11");

        AdaptiveThrottle healthyEnough = throttle().name("healthy").build();
        record(healthyEnough, Outcome.SUCCESS, 6);
        record(healthyEnough, Outcome.FAILURE, 4);
        assertEquals(0.0, healthyEnough.rejectProbability(), "K * accepts > requests: never negative");
        assertEquals(Health.up(), healthyEnough.health());

        AdaptiveThrottle strict = throttle().name("strict").multiplier(1.0).build();
        record(strict, Outcome.SUCCESS, 9);
        record(strict, Outcome.FAILURE, 1);
        assertEquals(1.0 / 11.0, strict.rejectProbability(), "K = 1 sheds as soon as anything is refused");
    }

    @Test
    void aCallIsRejectedWhenTheDrawFallsBelowTheProbability() {
        AdaptiveThrottle throttle = throttle().build();
        record(throttle, Outcome.SUCCESS, 2);
        record(throttle, Outcome.FAILURE, 8);
        double probability = 6.0 / 11.0;
        random.draws = 0;
        random.next = probability;
        long permit = throttle.tryAcquirePermit();
        assertNotEquals(AdmissionPolicy.REJECTED, permit, "a draw equal to the probability is admitted");
        throttle.release(permit);
        random.next = Math.nextDown(probability);
        assertEquals(AdmissionPolicy.REJECTED, throttle.tryAcquirePermit());
        assertEquals(1, throttle.rejectedCount());
        assertEquals(2, random.draws);
    }

    @Test
    void localRejectionsCountAsRequestsSoTheProbabilityRises() {
        AdaptiveThrottle throttle = throttle().build();
        record(throttle, Outcome.SUCCESS, 2);
        record(throttle, Outcome.FAILURE, 8);
        random.next = 0.0;
        assertEquals(AdmissionPolicy.REJECTED, throttle.tryAcquirePermit());
        assertEquals(formula(11, 2, 2.0), throttle.rejectProbability(), "(11 - 4) / 12");
        assertEquals(AdmissionPolicy.REJECTED, throttle.tryAcquirePermit());
        assertEquals(formula(12, 2, 2.0), throttle.rejectProbability(), "(12 - 4) / 13");
        assertEquals(2, throttle.rejectedCount());
        assertEquals(8, throttle.failureCount(), "local rejections are not dependency failures");
        assertEquals(2, events.size());
        PolicyEvent.Rejected first = assertInstanceOf(PolicyEvent.Rejected.class, events.get(0));
        assertEquals("search", first.policyName());
        assertEquals("throttle", first.policyKind());
        assertEquals("throttled locally with probability " + (6.0 / 11.0), first.reason());
        assertEquals(-1L, first.retryAfterNanos());
        assertEquals(scheduler.ticker().read(), first.nanoTime());
        assertEquals("throttled locally with probability " + formula(11, 2, 2.0),
                ((PolicyEvent.Rejected) events.get(1)).reason());
    }

    @Test
    void maxRejectProbabilityCapsTheProbability() {
        AdaptiveThrottle throttle = throttle().maxRejectProbability(0.5).build();
        record(throttle, Outcome.FAILURE, 10);
        assertEquals(0.5, throttle.rejectProbability(), "10 / 11 capped at 0.5");
        random.next = 0.5;
        long permit = throttle.tryAcquirePermit();
        assertNotEquals(AdmissionPolicy.REJECTED, permit, "half the calls still reach the dependency");
        throttle.release(permit);
        random.next = 0.4999;
        assertEquals(AdmissionPolicy.REJECTED, throttle.tryAcquirePermit());
        assertEquals(0.5, throttle.rejectProbability());
    }

    @Test
    void minimumRequestRateSuppressesRejectionAtLowTraffic() {
        AdaptiveThrottle throttle = throttle().minimumRequestRate(1.0).build(); // 10 requests over the 10 s window
        record(throttle, Outcome.FAILURE, 9);
        assertEquals(0.0, throttle.rejectProbability(), "9 requests < 10");
        assertEquals(Health.up(), throttle.health());
        record(throttle, Outcome.FAILURE, 1);
        assertEquals(10.0 / 11.0, throttle.rejectProbability());

        AdaptiveThrottle fractional = throttle().name("fractional").minimumRequestRate(0.25).build(); // 2.5 requests
        record(fractional, Outcome.FAILURE, 2);
        assertEquals(0.0, fractional.rejectProbability());
        record(fractional, Outcome.FAILURE, 1);
        assertEquals(3.0 / 4.0, fractional.rejectProbability());
    }

    @Test
    void ignoredOutcomesCountAsAccepted() throws Exception {
        AdaptiveThrottle throttle = throttle()
                .classifier(Classifier.builder().ignore(IllegalArgumentException.class).build()).build();
        for (int i = 0; i < 5; i++) {
            assertThrows(IllegalArgumentException.class, () -> throttle.call(() -> {
                throw new IllegalArgumentException("not found");
            }));
            assertThrows(IOException.class, () -> throttle.call(() -> {
                throw new IOException("overloaded");
            }));
        }
        assertEquals(5, throttle.ignoredCount());
        assertEquals(5, throttle.failureCount());
        assertEquals(0, throttle.acceptedCount());
        assertEquals(0.0, throttle.rejectProbability(), "(10 - 2 * 5) / 11: the ignored calls were accepted");
        record(throttle, Outcome.FAILURE, 1);
        assertEquals(formula(11, 5, 2.0), throttle.rejectProbability());
    }

    @Test
    void releaseCountsNothing() {
        AdaptiveThrottle throttle = throttle().build();
        record(throttle, Outcome.SUCCESS, 1);
        record(throttle, Outcome.FAILURE, 4);
        assertEquals(0.5, throttle.rejectProbability(), "(5 - 2) / 6");
        for (int i = 0; i < 10; i++) {
            throttle.release(throttle.tryAcquirePermit());
        }
        assertEquals(0.5, throttle.rejectProbability());
        assertEquals(1, throttle.acceptedCount());
        assertEquals(4, throttle.failureCount());
        assertEquals(0, throttle.ignoredCount());
    }

    @Test
    void theWindowForgetsOldBucketsAsTimeAdvances() {
        AdaptiveThrottle throttle = throttle().build();
        scheduler.advance(Duration.ofMillis(500));
        record(throttle, Outcome.FAILURE, 6); // period 0
        scheduler.advance(Duration.ofSeconds(5));
        record(throttle, Outcome.SUCCESS, 2); // period 5
        assertEquals(formula(8, 2, 2.0), throttle.rejectProbability(), "(8 - 4) / 9");
        scheduler.advance(Duration.ofMillis(4499)); // 9.999 s
        assertEquals(formula(8, 2, 2.0), throttle.rejectProbability());
        scheduler.advance(Duration.ofMillis(1)); // 10 s: period 0 leaves the window
        assertEquals(0.0, throttle.rejectProbability());
        assertEquals(Health.up(), throttle.health());
        record(throttle, Outcome.FAILURE, 3);
        assertEquals(formula(5, 2, 2.0), throttle.rejectProbability(), "(5 - 4) / 6: only the recent calls");
    }

    @Test
    void rejectionIsAStacklessLoadShedExceptionWithAClearMessage() {
        AdaptiveThrottle throttle = throttle().build();
        record(throttle, Outcome.SUCCESS, 2);
        record(throttle, Outcome.FAILURE, 8);
        random.next = 0.0;
        AtomicInteger invoked = new AtomicInteger();
        LoadShedException shed = assertThrows(LoadShedException.class, () -> throttle.call(() -> invoked.incrementAndGet()));
        assertEquals(0, invoked.get());
        assertEquals(0, shed.getStackTrace().length, "stackless");
        assertEquals("search", shed.policyName());
        assertTrue(shed.retryAfter().isEmpty());
        assertEquals("adaptive throttle 'search' rejected the call locally: the dependency accepted 2 of 11 recent requests,"
                + " this one included (reject probability now " + (7.0 / 12.0) + ")", shed.getMessage());
        RejectedException again = throttle.rejection();
        assertInstanceOf(LoadShedException.class, again);
        assertTrue(again.getMessage().contains("accepted 2 of 11 recent requests"), again.getMessage());
    }

    @Test
    void callAsyncRejectsWithAFailedFutureAndRecordsCompletedCalls() {
        AdaptiveThrottle throttle = throttle().build();
        CompletableFuture<String> pending = new CompletableFuture<>();
        CompletableFuture<String> admitted = throttle.callAsync(() -> pending).toCompletableFuture();
        pending.completeExceptionally(new IOException("overloaded"));
        assertThrows(CompletionException.class, admitted::join);
        assertEquals(1, throttle.failureCount());
        assertEquals(1.0 / 2.0, throttle.rejectProbability(), "(1 - 0) / 2");
        random.next = 0.0;
        CompletableFuture<String> shed = throttle.<String>callAsync(() -> {
            throw new AssertionError("must not start");
        }).toCompletableFuture();
        CompletionException thrown = assertThrows(CompletionException.class, shed::join);
        assertInstanceOf(LoadShedException.class, thrown.getCause());
        CompletableFuture<String> cancelled = new CompletableFuture<>();
        random.next = 1.0;
        throttle.callAsync(() -> cancelled).toCompletableFuture().cancel(true);
        assertTrue(cancelled.isCancelled());
        assertEquals(1, throttle.failureCount(), "a cancelled call counts nothing");
        assertEquals(1, throttle.rejectedCount());
    }

    @Test
    void healthIsDegradedWhileRejecting() {
        AdaptiveThrottle throttle = throttle().build();
        assertEquals(Health.up(), throttle.health());
        record(throttle, Outcome.SUCCESS, 2);
        record(throttle, Outcome.FAILURE, 8);
        Health health = throttle.health();
        assertEquals(Health.Status.DEGRADED, health.status());
        assertEquals(String.format("throttling: rejecting %.1f%% of calls locally", 600.0 / 11.0), health.reason());
        scheduler.advance(Duration.ofSeconds(10));
        assertEquals(Health.up(), throttle.health(), "the failures left the window");
    }

    @Test
    void metricsReadTheThrottlesCountsAndProbability() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        AdaptiveThrottle throttle = throttle()
                .classifier(Classifier.builder().ignoreResult(String.class, "404"::equals).build()).build();
        List<Meter> meters = VigilMetrics.bind(registry, throttle);
        assertEquals(5, meters.size());
        assertEquals(0.0, registry.find("vigil.throttle.reject.probability").tags("name", "search").gauge().value());
        record(throttle, Outcome.SUCCESS, 2);
        throttle.onResult(throttle.tryAcquirePermit(), "404", null, 0L);
        record(throttle, Outcome.FAILURE, 9);
        random.next = 0.0;
        assertEquals(AdmissionPolicy.REJECTED, throttle.tryAcquirePermit());
        assertEquals(2.0, calls(registry, "success"));
        assertEquals(9.0, calls(registry, "failure"));
        assertEquals(1.0, calls(registry, "ignored"));
        assertEquals(1.0, calls(registry, "rejected"));
        assertEquals(formula(13, 3, 2.0), registry.find("vigil.throttle.reject.probability").tags("name", "search", "kind", "throttle")
                .gauge().value(), 1e-12);
    }

    private static double calls(SimpleMeterRegistry registry, String outcome) {
        return registry.find(MetricsSink.CALLS).tags("name", "search", "kind", "throttle", "outcome", outcome)
                .functionCounter().count();
    }

    @Test
    void defaultsAreTheDocumentedOnes() {
        AdaptiveThrottle throttle = AdaptiveThrottle.builder().scheduler(scheduler).random(random).build();
        assertEquals("throttle", throttle.name());
        assertEquals("throttle", throttle.kind());
        assertFalse(throttle.measuresLatency());
        assertSame(Classifier.defaults(), throttle.classifier());
        assertSame(scheduler.ticker(), throttle.ticker());
        assertEquals("AdaptiveThrottle[throttle, K=2.0, window PT2M]", throttle.toString());
        record(throttle, Outcome.FAILURE, 119);
        assertEquals(0.0, throttle.rejectProbability(), "1 request per second over 2 minutes: 120 needed");
        record(throttle, Outcome.FAILURE, 1);
        assertEquals(0.9, throttle.rejectProbability(), "120 / 121 capped at the default 0.9");
        scheduler.advance(Duration.ofMillis(119_999));
        assertEquals(0.9, throttle.rejectProbability());
        scheduler.advance(Duration.ofMillis(1)); // 24 buckets of 5 s: the first bucket leaves at 2 minutes
        assertEquals(0.0, throttle.rejectProbability());
    }

    @Test
    void badInputIsRejectedNamingTheParameterAndRange() {
        AdaptiveThrottle.Builder builder = throttle();
        assertMessage("multiplier must be in [1.0, 100.0], was 0.999", () -> builder.multiplier(0.999));
        assertMessage("multiplier must be in [1.0, 100.0], was 0.0", () -> builder.multiplier(0.0));
        assertMessage("multiplier must be in [1.0, 100.0], was -2.0", () -> builder.multiplier(-2.0));
        assertMessage("multiplier must be in [1.0, 100.0], was 100.5", () -> builder.multiplier(100.5));
        assertMessage("multiplier must be in [1.0, 100.0], was NaN", () -> builder.multiplier(Double.NaN));
        builder.multiplier(1.0).multiplier(100.0);
        assertMessage("buckets must be in [2, 1000], was 1", () -> builder.window(Duration.ofSeconds(10), 1));
        assertMessage("buckets must be in [2, 1000], was 1001", () -> builder.window(Duration.ofSeconds(10), 1001));
        assertMessage("window (PT1S) must split into buckets (3) of a whole number of milliseconds",
                () -> builder.window(Duration.ofSeconds(1), 3));
        assertMessage("window (PT0.003S) must split into buckets (6) of",
                () -> builder.window(Duration.ofMillis(3), 6));
        assertMessage("window must be > 0, was PT0S", () -> builder.window(Duration.ZERO, 10));
        assertMessage("window must be > 0, was PT-10S", () -> builder.window(Duration.ofSeconds(-10), 10));
        assertMessage("window must not be null", () -> builder.window(null, 10));
        assertMessage("maxRejectProbability must be in (0.0, 1.0], was 0.0", () -> builder.maxRejectProbability(0.0));
        assertMessage("maxRejectProbability must be in (0.0, 1.0], was -0.1", () -> builder.maxRejectProbability(-0.1));
        assertMessage("maxRejectProbability must be in (0.0, 1.0], was 1.01", () -> builder.maxRejectProbability(1.01));
        assertMessage("maxRejectProbability must be in (0.0, 1.0], was NaN", () -> builder.maxRejectProbability(Double.NaN));
        builder.maxRejectProbability(Double.MIN_VALUE).maxRejectProbability(1.0);
        assertMessage("minimumRequestRate must be in [0.0, 1.0E9], was -1.0", () -> builder.minimumRequestRate(-1));
        assertMessage("minimumRequestRate must be in [0.0, 1.0E9], was -1.0E-9", () -> builder.minimumRequestRate(-1e-9));
        assertMessage("minimumRequestRate must be in [0.0, 1.0E9], was NaN", () -> builder.minimumRequestRate(Double.NaN));
        assertMessage("minimumRequestRate must be in [0.0, 1.0E9], was Infinity",
                () -> builder.minimumRequestRate(Double.POSITIVE_INFINITY));
        builder.minimumRequestRate(0.0).minimumRequestRate(1e9);
        assertMessage("name must not be null or blank, was null", () -> builder.name(null));
        assertMessage("name must not be null or blank, was \" \"", () -> builder.name(" "));
        assertMessage("classifier must not be null", () -> builder.classifier(null));
        assertMessage("scheduler must not be null", () -> builder.scheduler(null));
        assertMessage("random must not be null", () -> builder.random(null));
        assertMessage("listener must not be null", () -> builder.listener(null));
        AdaptiveThrottle throttle = builder.build();
        assertEquals("AdaptiveThrottle[search, K=100.0, window PT10S]", throttle.toString(), "failed setters changed nothing");
        assertMessage("outcome must not be null", () -> throttle.complete(throttle.tryAcquirePermit(), null, 0L));
    }
}
