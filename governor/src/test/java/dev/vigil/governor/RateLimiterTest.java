package dev.vigil.governor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Outcome;
import dev.vigil.core.Pipeline;
import dev.vigil.core.Policy;
import dev.vigil.core.RateLimitedException;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.health.Health;
import dev.vigil.core.metrics.VigilMetrics;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.Scheduler;
import dev.vigil.core.time.Ticker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RateLimiterTest {
    private static final long MS = 1_000_000L;

    private final ManualScheduler scheduler = new ManualScheduler();

    private RateLimiter.Builder builder() {
        return RateLimiter.builder().name("api").scheduler(scheduler);
    }

    @Test
    void aFullBucketLetsTheBurstThroughThenOnePerInterval() {
        RateLimiter limiter = builder().limit(10, Duration.ofSeconds(1), 3).build();
        assertTrue(limiter.tryAcquire());
        assertTrue(limiter.tryAcquire());
        assertTrue(limiter.tryAcquire());
        assertFalse(limiter.tryAcquire(), "burst of 3 spent");
        scheduler.advance(Duration.ofMillis(99));
        assertFalse(limiter.tryAcquire(), "the next permit comes after 100 ms");
        scheduler.advance(Duration.ofMillis(1));
        assertTrue(limiter.tryAcquire());
        assertFalse(limiter.tryAcquire());
        scheduler.advance(Duration.ofSeconds(10));
        assertEquals(3, limiter.availablePermits(), "a quiet period refills the burst, no more");
    }

    @Test
    void theDefaultBurstIsOnePeriodsWorth() {
        RateLimiter limiter = RateLimiter.builder().scheduler(scheduler).limit(5, Duration.ofSeconds(1)).build();
        assertEquals(5, limiter.availablePermits());
        assertTrue(limiter.tryAcquire(5));
        assertFalse(limiter.tryAcquire());
        assertEquals(200 * MS, limiter.nanosUntilAvailable(1));
        assertEquals(1_000 * MS, limiter.nanosUntilAvailable(5));
    }

    @Test
    void severalPermitsAreAllOrNothing() {
        RateLimiter limiter = builder().limit(10, Duration.ofSeconds(1), 5).build();
        assertTrue(limiter.tryAcquire(4));
        assertFalse(limiter.tryAcquire(2), "only one left: none taken");
        assertTrue(limiter.tryAcquire(1));
        assertEquals(0, limiter.availablePermits());
    }

    @Test
    void everyLimitMustConsent() {
        // 100 per second, but at most 5 per 10 seconds with a burst of 2.
        RateLimiter limiter = builder().limit(100, Duration.ofSeconds(1)).limit(5, Duration.ofSeconds(10), 2).build();
        assertTrue(limiter.tryAcquire());
        assertTrue(limiter.tryAcquire());
        assertFalse(limiter.tryAcquire(), "the slow limit's burst is spent");
        assertEquals(2 * 1_000 * MS, limiter.nanosUntilAvailable(1), "the slow limit refills one every 2 s");
        scheduler.advance(Duration.ofSeconds(2));
        assertTrue(limiter.tryAcquire());
        // A refusal by one limit takes nothing from the other: the fast one still has 97 of its 100.
        assertEquals(0, limiter.availablePermits());
        scheduler.advance(Duration.ofSeconds(4));
        assertTrue(limiter.tryAcquire(2));
    }

    @Test
    void aRefusalByTheSecondLimitLeavesTheFirstUntouched() {
        RateLimiter limiter = builder().limit(3, Duration.ofSeconds(1), 3).limit(1, Duration.ofSeconds(1), 1).build();
        assertTrue(limiter.tryAcquire());
        for (int i = 0; i < 10; i++) {
            assertFalse(limiter.tryAcquire());
        }
        scheduler.advance(Duration.ofSeconds(1));
        assertTrue(limiter.tryAcquire(), "refusals took nothing from the first limit");
    }

    @Test
    void reserveReturnsTheWaitAndQueuesLaterCallersBehind() {
        RateLimiter limiter = builder().limit(10, Duration.ofSeconds(1), 1).build();
        assertEquals(0, limiter.reserve(1, Duration.ZERO));
        assertEquals(100 * MS, limiter.reserve(1, Duration.ofSeconds(1)));
        assertEquals(200 * MS, limiter.reserve(1, Duration.ofSeconds(1)));
        assertEquals(-1, limiter.reserve(1, Duration.ofMillis(299)), "a wait of 300 ms is over the limit: nothing reserved");
        assertEquals(300 * MS, limiter.reserve(1, Duration.ofMillis(300)));
        assertFalse(limiter.tryAcquire(), "reservations are ahead");
        assertEquals(2, limiter.rejectedCount(), "two refusals: the reserve over its max wait and the tryAcquire");
    }

    @Test
    void acquireWaitsInVirtualTimeForItsTurn() throws Exception {
        RateLimiter limiter = builder().limit(10, Duration.ofSeconds(1), 1).build();
        assertTrue(limiter.acquire(1, Duration.ZERO));
        long before = scheduler.ticker().read();
        assertTrue(limiter.acquire(1, Duration.ofSeconds(1)), "a ManualScheduler's sleep advances virtual time");
        assertEquals(100 * MS, scheduler.ticker().read() - before);
        assertFalse(limiter.acquire(1, Duration.ofMillis(50)), "next permit in 100 ms > 50 ms");
        assertEquals(100 * MS, scheduler.ticker().read() - before, "a refusal does not wait");
    }

    /** A scheduler whose sleep runs {@code meanwhile} (other callers, during the wait) and is then interrupted. */
    private static Scheduler interruptedAfter(Runnable meanwhile) {
        ManualScheduler time = new ManualScheduler();
        return new Scheduler() {
            @Override
            public Task schedule(Runnable task, long delayNanos) {
                return time.schedule(task, delayNanos);
            }

            @Override
            public Ticker ticker() {
                return time.ticker();
            }

            @Override
            public void sleep(long nanos) throws InterruptedException {
                meanwhile.run();
                throw new InterruptedException("interrupted while waiting");
            }
        };
    }

    @Test
    void anInterruptedWaiterGivesItsReservationBackWhenItIsTheLatest() throws Exception {
        RateLimiter limiter = RateLimiter.builder().scheduler(interruptedAfter(() -> {})).limit(10, Duration.ofSeconds(1), 1).build();
        assertTrue(limiter.tryAcquire());
        assertThrows(InterruptedException.class, () -> limiter.acquire(1, Duration.ofSeconds(1)));
        assertEquals(100 * MS, limiter.reserve(1, Duration.ofSeconds(1)), "undone: the next caller gets the first free slot");
    }

    @Test
    void anInterruptedWaiterBehindALaterReservationLeavesItsSlotUnused() throws Exception {
        RateLimiter[] holder = new RateLimiter[1];
        long[] stacked = new long[1];
        RateLimiter limiter = RateLimiter.builder().scheduler(interruptedAfter(() -> stacked[0] = holder[0].reserve(1, Duration.ofSeconds(1))))
                .limit(10, Duration.ofSeconds(1), 1).build();
        holder[0] = limiter;
        assertTrue(limiter.tryAcquire());
        assertThrows(InterruptedException.class, () -> limiter.acquire(1, Duration.ofSeconds(1)));
        assertEquals(200 * MS, stacked[0], "the caller during the wait queued behind the waiter");
        // Undoing the waiter's slot under the later reservation could hand out capacity from before that
        // caller came (see Gcra): the slot passes unused instead, and the next caller comes third.
        assertEquals(300 * MS, limiter.reserve(1, Duration.ofSeconds(1)));
    }

    @Test
    void warmUpStartsAtAThirdAndReachesTheFullRate() {
        RateLimiter limiter = builder().limit(10, Duration.ofSeconds(1), 3).warmup(Duration.ofSeconds(1)).build();
        // Cold: each permit costs 300 ms, so the burst of 3 intervals (300 ms) holds one permit.
        assertTrue(limiter.tryAcquire());
        assertFalse(limiter.tryAcquire());
        int admitted = 1;
        for (int ms = 1; ms <= 3_000; ms++) {
            scheduler.advance(Duration.ofMillis(1));
            while (limiter.tryAcquire()) {
                admitted++;
            }
            if (ms == 1_000) {
                assertTrue(admitted < 10, "fewer than the warm rate's 10 during the first second: " + admitted);
            }
        }
        // Fully warm after a second: the last second ran at 10 per second.
        int lastSecond = 0;
        for (int ms = 1; ms <= 1_000; ms++) {
            scheduler.advance(Duration.ofMillis(1));
            while (limiter.tryAcquire()) {
                lastSecond++;
            }
        }
        assertEquals(10, lastSecond);
        scheduler.advance(Duration.ofSeconds(5));
        assertTrue(limiter.tryAcquire());
        assertFalse(limiter.tryAcquire(), "idle for a warm-up period: cold again, one permit per burst");
    }

    @Test
    void asAnAdmissionPolicyItRefusesWithTheRetryAfter() throws Exception {
        List<PolicyEvent> events = new ArrayList<>();
        RateLimiter limiter = builder().limit(4, Duration.ofSeconds(1), 1).listener(events::add).build();
        assertEquals("api", limiter.name());
        assertEquals("ratelimiter", limiter.kind());
        assertFalse(limiter.measuresLatency());
        assertEquals("ok", limiter.call(() -> "ok"));
        RateLimitedException refused = assertThrows(RateLimitedException.class, () -> limiter.call(() -> "again"));
        assertEquals("api", refused.policyName());
        assertEquals(250 * MS, refused.retryAfterNanos());
        assertEquals(0, refused.getStackTrace().length, "stackless");
        assertTrue(refused.getMessage().contains("4 per PT1S (burst 1)"), refused.getMessage());
        PolicyEvent.Rejected rejected = assertInstanceOf(PolicyEvent.Rejected.class, events.get(0));
        assertEquals(250 * MS, rejected.retryAfterNanos());
        assertEquals(1, limiter.rejectedCount());
    }

    @Test
    void acquirePermitWaitsUpToTheTimeout() throws Exception {
        RateLimiter limiter = builder().limit(10, Duration.ofSeconds(1), 1).timeout(Duration.ofMillis(100)).build();
        assertTrue(limiter.acquirePermit() >= 0);
        long permit = limiter.acquirePermit();
        assertTrue(permit >= 0, "waited 100 ms");
        limiter.complete(permit, Outcome.SUCCESS, 0);
        limiter.release(permit);
        assertEquals(AdmissionPolicy.REJECTED, limiter.tryAcquirePermit());
        assertThrows(IllegalArgumentException.class, () -> limiter.release(AdmissionPolicy.REJECTED));
        assertThrows(IllegalArgumentException.class, () -> limiter.complete(0, null, 0));
    }

    @Test
    void asyncCallsAreNeverParked() {
        RateLimiter limiter = builder().limit(1, Duration.ofSeconds(1)).timeout(Duration.ofSeconds(5)).build();
        assertEquals("a", limiter.callAsync(() -> CompletableFuture.completedFuture("a")).toCompletableFuture().join());
        CompletionException failed = assertThrows(CompletionException.class,
                () -> limiter.callAsync(() -> CompletableFuture.completedFuture("b")).toCompletableFuture().join());
        assertInstanceOf(RateLimitedException.class, failed.getCause());
    }

    @Test
    void composesInAPipeline() throws Exception {
        RateLimiter limiter = builder().limit(2, Duration.ofSeconds(1)).build();
        Policy pipeline = Pipeline.of(dev.vigil.core.Timeout.of(Duration.ofSeconds(1)), limiter);
        assertEquals(1, (int) pipeline.call(() -> 1));
        assertEquals(2, (int) pipeline.call(() -> 2));
        assertThrows(RateLimitedException.class, () -> pipeline.call(() -> 3));
    }

    @Test
    void healthIsDegradedWhileNoPermitIsFree() {
        RateLimiter limiter = builder().limit(1, Duration.ofSeconds(1)).build();
        assertEquals(Health.Status.UP, limiter.health().status());
        assertTrue(limiter.tryAcquire());
        Health health = limiter.health();
        assertEquals(Health.Status.DEGRADED, health.status());
        assertTrue(health.reason().contains("next in PT1S"), health.reason());
        scheduler.advance(Duration.ofSeconds(1));
        assertEquals(Health.Status.UP, limiter.health().status());
    }

    @Test
    void metricsCountRefusalsAndShowFreePermits() {
        RateLimiter limiter = builder().limit(3, Duration.ofSeconds(1)).build();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        VigilMetrics.of(limiter).bindTo(registry);
        assertEquals(3.0, registry.get("vigil.ratelimiter.available.permits").gauge().value());
        assertTrue(limiter.tryAcquire(3));
        assertFalse(limiter.tryAcquire());
        assertEquals(0.0, registry.get("vigil.ratelimiter.available.permits").gauge().value());
        assertEquals(1.0, registry.get("vigil.calls").tag("outcome", "rejected").functionCounter().count());
    }

    @Test
    void anIntervalIsRoundedUpSoTheRateIsNeverExceeded() {
        // 3 per second: an interval of 333,333,334 ns (not 333,333,333).
        RateLimiter limiter = builder().limit(3, Duration.ofSeconds(1), 1).build();
        assertTrue(limiter.tryAcquire());
        assertEquals(333_333_334L, limiter.nanosUntilAvailable(1));
    }

    @Test
    void badInputIsRejectedNamingTheParameter() {
        assertMessage("limits must hold at least one limit", () -> builder().build());
        assertMessage("permits must be >= 1", () -> builder().limit(0, Duration.ofSeconds(1)));
        assertMessage("permits must be >= 1", () -> builder().limit(-5, Duration.ofSeconds(1)));
        assertMessage("period must be", () -> builder().limit(1, Duration.ZERO));
        assertMessage("period must be", () -> builder().limit(1, Duration.ofSeconds(-1)));
        assertMessage("period must not be null", () -> builder().limit(1, null));
        assertMessage("burst must be >= 1", () -> builder().limit(1, Duration.ofSeconds(1), 0));
        assertMessage("at most 1 per microsecond", () -> builder().limit(2_000_000, Duration.ofSeconds(1)));
        assertMessage("burst must be in [1, ", () -> builder().limit(1, Duration.ofDays(365), 1_000));
        RateLimiter.Builder nine = builder();
        for (int i = 0; i < 8; i++) {
            nine.limit(1, Duration.ofSeconds(i + 1));
        }
        assertMessage("limits must be at most 8", () -> nine.limit(1, Duration.ofSeconds(9)));
        assertMessage("timeout must be", () -> builder().timeout(Duration.ofMillis(-1)));
        assertMessage("warmup period must be", () -> builder().warmup(Duration.ZERO));
        assertMessage("coldFactor must be in (1.0, 100.0]", () -> builder().warmup(Duration.ofSeconds(1), 1.0));
        assertMessage("name must not be", () -> builder().name(" "));
        assertMessage("scheduler must not be null", () -> builder().scheduler(null));
        RateLimiter limiter = builder().limit(10, Duration.ofSeconds(1), 4).limit(100, Duration.ofMinutes(1), 3).build();
        assertMessage("permits must be in [1, 3] (the smallest burst), was 4", () -> limiter.tryAcquire(4));
        assertMessage("permits must be in [1, 3]", () -> limiter.tryAcquire(0));
        assertMessage("maxWait must be", () -> limiter.reserve(1, Duration.ofSeconds(-1)));
        assertMessage("maxWait must not be null", () -> limiter.acquire(1, null));
    }

    @Test
    void describesItself() {
        RateLimiter limiter = builder().limit(10, Duration.ofSeconds(1)).limit(100, Duration.ofMinutes(1), 20)
                .timeout(Duration.ofMillis(5)).warmup(Duration.ofSeconds(3), 2.0).build();
        assertEquals("RateLimiter[api, 10 per PT1S (burst 10), 100 per PT1M (burst 20), timeout=PT0.005S, warmup=PT3S x2.0]",
                limiter.toString());
        assertEquals("RateLimiter[x, 1 per PT1S (burst 1)]", RateLimiter.of("x", 1, Duration.ofSeconds(1)).toString());
    }

    @Test
    void realThreadsWaitForTheirReservedSlotsInOrder() throws Exception {
        // Real time: 50 per second, burst 1, spent; two waiters take the next two slots (20 and 40 ms on).
        RateLimiter limiter = RateLimiter.builder().limit(50, Duration.ofSeconds(1), 1).build();
        assertTrue(limiter.tryAcquire());
        long start = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Long> first = pool.submit(() -> limiter.acquire(1, Duration.ofSeconds(5)) ? System.nanoTime() - start : -1L);
            Future<Long> second = pool.submit(() -> limiter.acquire(1, Duration.ofSeconds(5)) ? System.nanoTime() - start : -1L);
            long a = first.get(10, TimeUnit.SECONDS);
            long b = second.get(10, TimeUnit.SECONDS);
            // Lower bounds only (never early); how late a parked thread wakes is up to the machine.
            assertTrue(Math.min(a, b) >= 19 * MS, "no waiter before the first slot: " + Math.min(a, b));
            assertTrue(Math.max(a, b) >= 39 * MS, "the second waiter waited for the second slot: " + Math.max(a, b));
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void aColdLimiterWithABurstBelowTheColdFactorStillLetsCallsThroughAtTheColdRate() {
        // Burst 1, cold factor 3: a cold permit costs 300 ms, more than the whole bucket (100 ms).
        RateLimiter limiter = builder().limit(10, Duration.ofSeconds(1), 1).warmup(Duration.ofSeconds(10)).build();
        int admitted = 0;
        for (int ms = 0; ms < 3_000; ms += 10) {
            admitted += limiter.tryAcquire() ? 1 : 0;
            scheduler.advance(Duration.ofMillis(10));
        }
        assertTrue(admitted >= 10 && admitted <= 30, "about a third of 10 per second while cold, then faster: " + admitted);
        RateLimiter whole = builder().limit(10, Duration.ofSeconds(1)).warmup(Duration.ofSeconds(1)).build();
        assertTrue(whole.tryAcquire(10), "a call for the whole burst on a full, cold bucket");
        assertFalse(whole.tryAcquire(), "and nothing else until its stretched cost has passed");
        assertEquals(0, whole.availablePermits());
        assertEquals(Health.Status.DEGRADED, whole.health().status());
    }

    @Test
    void aTickerAtTheWrapNeverLooksLikeAnEvictedState() {
        // The first call's state would land exactly on Long.MIN_VALUE (the keyed limiter's "evicted" mark).
        ManualScheduler wrapping = new ManualScheduler(new dev.vigil.core.time.ManualTicker(Long.MAX_VALUE - 999));
        RateLimiter limiter = RateLimiter.builder().scheduler(wrapping).limit(1_000_000, Duration.ofSeconds(1), 1).build();
        assertTrue(limiter.tryAcquire());
        int admitted = 0;
        for (int i = 0; i < 100; i++) {
            wrapping.advance(Duration.ofMillis(10));
            admitted += limiter.tryAcquire() ? 1 : 0;
        }
        assertEquals(100, admitted);
        ManualScheduler atMin = new ManualScheduler(new dev.vigil.core.time.ManualTicker(Long.MIN_VALUE));
        RateLimiter fromMin = RateLimiter.builder().scheduler(atMin).limit(10, Duration.ofSeconds(1)).build();
        atMin.advance(Duration.ofSeconds(1));
        assertTrue(fromMin.tryAcquire(10));
    }

    @Test
    void aWarmUpThatWouldStretchAFullBucketBeyondTheLongestDurationIsRejected() {
        assertMessage("coldFactor must be at most", () -> builder().limit(10, Duration.ofDays(365 * 30)).warmup(Duration.ofSeconds(1), 5.0).build());
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable executable) {
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, executable);
        assertTrue(thrown.getMessage().contains(expected), () -> "expected \"" + expected + "\" in: " + thrown.getMessage());
    }
}
