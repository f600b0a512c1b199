package dev.vigil.circuitbreaker;

import dev.vigil.core.testing.VirtualThreads;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.circuitbreaker.CircuitBreaker.State;
import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Outcome;
import dev.vigil.core.Permits;
import dev.vigil.core.time.ManualScheduler;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Many threads (platform, and on JDK 21+ thousands of virtual threads) hammer one breaker: half-open
 * never admits more probes than permitted at any moment, cancelled and ignored probes free their slot,
 * every permit ends exactly once and nothing is lost (the breaker's counters equal the outcomes the
 * threads reported; after quiescence no probe slot is held). The windows are hammered on their own:
 * at rest a count window's totals equal a recount of its slots, and a time window holds exactly the
 * records of its periods.
 *
 * <p>Bounded in count (every thread runs a fixed number of calls; futures are awaited with a generous
 * bound); no sleeps and no timing assertions: threads start together on a latch or barrier, and
 * {@link Thread#yield()} while a permit is held lets others interleave (on virtual threads, too).
 */
class CircuitBreakerStressTest {
    static {
        // Transitions log a line each (WARN when opening): thousands here. Quieten the breaker's logger
        // unless the build configured it (slf4j-simple reads this when the logger is created).
        if (System.getProperty("org.slf4j.simpleLogger.log.dev.vigil.circuitbreaker") == null) {
            System.setProperty("org.slf4j.simpleLogger.log.dev.vigil.circuitbreaker", "error");
        }
    }

    private static final int PLATFORM_THREADS = 8;
    private static final int VIRTUAL_THREADS = 2_000;
    private static final int PLATFORM_CALLS = 20_000;
    private static final int VIRTUAL_CALLS = 100;

    /** A stress run: workers hammering one breaker on the executor, each making callsPerWorker calls. */
    private interface Hammer {
        void run(ExecutorService executor, int workers, int callsPerWorker) throws Exception;
    }

    private static void onPlatformThreads(Hammer hammer) throws Exception {
        hammerOn(Executors.newFixedThreadPool(PLATFORM_THREADS), hammer, PLATFORM_THREADS, PLATFORM_CALLS);
    }

    private static void onVirtualThreads(Hammer hammer) throws Exception {
        hammerOn(VirtualThreads.executor(), hammer, VIRTUAL_THREADS, VIRTUAL_CALLS);
    }

    private static void hammerOn(ExecutorService executor, Hammer hammer, int workers, int callsPerWorker) throws Exception {
        try {
            hammer.run(executor, workers, callsPerWorker);
        } finally {
            executor.shutdownNow();
        }
    }

    // ---------------------------------------------------------------- half-open, held open

    @Test
    void halfOpenNeverAdmitsMoreThanItsProbesOnPlatformThreads() throws Exception {
        onPlatformThreads(CircuitBreakerStressTest::hammerHalfOpen);
    }

    @Test
    void halfOpenNeverAdmitsMoreThanItsProbesOnVirtualThreads() throws Exception {
        onVirtualThreads(CircuitBreakerStressTest::hammerHalfOpen);
    }

    /**
     * A breaker held half-open with 4 probes: every probe ends cancelled (release) or ignored, so none
     * is recorded and the breaker never decides; it must never have more than 4 probes out at once,
     * and afterwards all 4 slots must be free again.
     */
    private static void hammerHalfOpen(ExecutorService executor, int workers, int callsPerWorker) throws Exception {
        int permitted = 4;
        CircuitBreaker breaker = CircuitBreaker.builder().name("stress-half-open")
                .permittedCallsInHalfOpen(permitted)
                .scheduler(new ManualScheduler()) // never advanced: no timed transition
                .build();
        breaker.transitionToHalfOpen();
        AtomicInteger outstanding = new AtomicInteger();
        AtomicInteger mostOutstanding = new AtomicInteger();
        AtomicLong admitted = new AtomicLong();
        AtomicLong released = new AtomicLong();
        AtomicLong ignored = new AtomicLong();
        AtomicLong rejected = new AtomicLong();
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            long seed = 17L * w + 1;
            futures.add(executor.submit(() -> {
                start.await();
                SplittableRandom random = new SplittableRandom(seed);
                for (int i = 0; i < callsPerWorker; i++) {
                    long permit = breaker.tryAcquirePermit();
                    if (permit == AdmissionPolicy.REJECTED) {
                        rejected.incrementAndGet();
                        continue;
                    }
                    admitted.incrementAndGet();
                    // Counted after the breaker's CAS and uncounted before the slot is freed, so this is
                    // never more than the breaker's own in-flight count.
                    int now = outstanding.incrementAndGet();
                    mostOutstanding.accumulateAndGet(now, Math::max);
                    Thread.yield(); // hold the slot while others try
                    outstanding.decrementAndGet();
                    if (random.nextBoolean()) {
                        released.incrementAndGet();
                        breaker.release(permit);
                    } else {
                        ignored.incrementAndGet();
                        breaker.complete(permit, Outcome.IGNORED, 0L);
                    }
                }
                return null;
            }));
        }
        start.countDown();
        awaitAll(futures);

        assertTrue(mostOutstanding.get() <= permitted,
                "at one moment " + mostOutstanding.get() + " probes were out, with " + permitted + " permitted");
        assertEquals(State.HALF_OPEN, breaker.state(), "cancelled and ignored probes are never recorded, so nothing decides");
        assertEquals(0L, breaker.stats().calls(), "no probe was recorded");
        assertEquals((long) workers * callsPerWorker, admitted.get() + rejected.get());
        assertEquals(admitted.get(), released.get() + ignored.get(), "every admitted probe ended once");
        assertEquals(ignored.get(), breaker.ignoredCount(), "ignored outcomes the breaker counted");
        assertEquals(rejected.get(), breaker.rejectedCount(), "rejections the breaker counted");
        assertEquals(0L, breaker.successCount() + breaker.failureCount());
        assertTrue(admitted.get() >= permitted, "the probes were admitted at all: " + admitted.get());
        assertEquals(permitted, freeProbeSlots(breaker), "after quiescence every slot is free (in flight 0)");
    }

    // ---------------------------------------------------------------- closed, open, half-open cycles

    @Test
    void cyclesNeverAdmitMoreThanTheProbesOfEachHalfOpenOnPlatformThreads() throws Exception {
        onPlatformThreads(CircuitBreakerStressTest::hammerCycles);
    }

    @Test
    void cyclesNeverAdmitMoreThanTheProbesOfEachHalfOpenOnVirtualThreads() throws Exception {
        onVirtualThreads(CircuitBreakerStressTest::hammerCycles);
    }

    /**
     * A breaker that opens (3 failures in a row, or 50% of the last 20 with 10 recorded), reopens after
     * 10 ms of virtual time (on the scheduler's timer, or lazily at the next call) and probes with 3:
     * threads succeed, fail, are ignored or cancel at random, and advance the virtual clock by 5 ms
     * whenever they are rejected, so the breaker cycles through every state many times. Each half-open
     * phase (one epoch) must never have more than 3 probes in flight or recorded; the breaker's counters
     * must equal what the threads reported; at rest no slot may be held.
     */
    private static void hammerCycles(ExecutorService executor, int workers, int callsPerWorker) throws Exception {
        int permitted = 3;
        ManualScheduler scheduler = new ManualScheduler();
        CircuitBreaker breaker = CircuitBreaker.builder().name("stress-cycles")
                .countWindow(20).minimumCalls(10).failureRateThreshold(50)
                .consecutiveFailures(3)
                .permittedCallsInHalfOpen(permitted)
                .openDuration(Duration.ofMillis(10)).automaticTransitionToHalfOpen(true)
                .scheduler(scheduler)
                .build();
        ConcurrentHashMap<Integer, AtomicInteger> probesByEpoch = new ConcurrentHashMap<>();
        Queue<String> violations = new ConcurrentLinkedQueue<>();
        AtomicLong successes = new AtomicLong();
        AtomicLong failures = new AtomicLong();
        AtomicLong ignored = new AtomicLong();
        AtomicLong released = new AtomicLong();
        AtomicLong rejected = new AtomicLong();
        AtomicLong admitted = new AtomicLong();
        AtomicLong probes = new AtomicLong();
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            long seed = 31L * w + 7;
            futures.add(executor.submit(() -> {
                start.await();
                SplittableRandom random = new SplittableRandom(seed);
                for (int i = 0; i < callsPerWorker; i++) {
                    long permit = breaker.tryAcquirePermit();
                    if (permit == AdmissionPolicy.REJECTED) {
                        rejected.incrementAndGet();
                        scheduler.advance(Duration.ofMillis(5)); // let the open duration pass
                        continue;
                    }
                    admitted.incrementAndGet();
                    AtomicInteger phaseProbes = null;
                    if (Permits.slot(permit) == State.HALF_OPEN.ordinal()) { // the breaker's slot: the admitting state
                        probes.incrementAndGet();
                        phaseProbes = probesByEpoch.computeIfAbsent(Permits.epoch(permit), epoch -> new AtomicInteger());
                        int taken = phaseProbes.incrementAndGet(); // in flight or recorded, in this half-open phase
                        if (taken > permitted) {
                            violations.add("half-open epoch " + Permits.epoch(permit) + " had " + taken + " probes in flight or recorded");
                        }
                    }
                    Thread.yield();
                    int kind = random.nextInt(100);
                    if (kind < 40) {
                        successes.incrementAndGet();
                        breaker.complete(permit, Outcome.SUCCESS, 0L); // recorded: a probe keeps its slot
                    } else if (kind < 70) {
                        failures.incrementAndGet();
                        breaker.complete(permit, Outcome.FAILURE, 0L);
                    } else if (kind < 85) {
                        if (phaseProbes != null) {
                            phaseProbes.decrementAndGet(); // before the slot is freed
                        }
                        ignored.incrementAndGet();
                        breaker.complete(permit, Outcome.IGNORED, 0L);
                    } else {
                        if (phaseProbes != null) {
                            phaseProbes.decrementAndGet();
                        }
                        released.incrementAndGet();
                        breaker.release(permit);
                    }
                }
                return null;
            }));
        }
        start.countDown();
        awaitAll(futures);

        assertTrue(violations.isEmpty(), violations.size() + " violations, first: " + violations.peek());
        assertEquals((long) workers * callsPerWorker, admitted.get() + rejected.get());
        assertEquals(admitted.get(), successes.get() + failures.get() + ignored.get() + released.get(), "every permit ended once");
        assertEquals(successes.get(), breaker.successCount(), "successes the breaker counted");
        assertEquals(failures.get(), breaker.failureCount(), "failures the breaker counted");
        assertEquals(ignored.get(), breaker.ignoredCount(), "ignored outcomes the breaker counted");
        assertEquals(rejected.get(), breaker.rejectedCount(), "rejections the breaker counted");
        assertTrue(probes.get() > 0 && rejected.get() > 0, "the breaker cycled through open and half-open: "
                + probes.get() + " probes, " + rejected.get() + " rejections, over " + probesByEpoch.size() + " half-open phases");

        // At rest: whatever state the threads left, the last half-open phase (if any) holds no slot.
        State state = breaker.state();
        if (state == State.HALF_OPEN) {
            long recorded = breaker.stats().calls();
            assertEquals(permitted - recorded, freeProbeSlots(breaker),
                    "half-open at rest with " + recorded + " recorded probes: every other slot is free (in flight 0)");
        } else {
            assertNotEquals(State.FORCED_OPEN, state);
            assertNotEquals(State.DISABLED, state);
        }
    }

    /** Takes every free probe slot of a half-open breaker, counts them, and releases them again. */
    private static int freeProbeSlots(CircuitBreaker breaker) {
        List<Long> taken = new ArrayList<>();
        long permit;
        while ((permit = breaker.tryAcquirePermit()) != AdmissionPolicy.REJECTED) {
            assertEquals(State.HALF_OPEN.ordinal(), Permits.slot(permit), "a probe permit");
            taken.add(permit);
            assertTrue(taken.size() <= CircuitBreaker.Builder.MAX_PERMITTED_IN_HALF_OPEN, "admission never stops");
        }
        for (long held : taken) {
            breaker.release(held);
        }
        return taken.size();
    }

    // ---------------------------------------------------------------- the probe word alone

    /**
     * {@link Phase}'s probe word with 50 permitted probes and 8 threads: cancelled and ignored probes
     * free their slot, recorded ones keep it, so at rest the word holds exactly the recorded probes
     * the threads reported (failed and slow among them) and none in flight, and it never admitted more
     * than 50 in flight or recorded.
     */
    @Test
    void theProbeWordLosesNothing() throws Exception {
        int permitted = 50;
        Phase phase = new Phase(State.HALF_OPEN, 5, null, 0L, 0L, 1, 0L);
        AtomicInteger taken = new AtomicInteger();
        AtomicInteger mostTaken = new AtomicInteger();
        AtomicLong recorded = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicLong slow = new AtomicLong();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService executor = Executors.newFixedThreadPool(PLATFORM_THREADS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < PLATFORM_THREADS; w++) {
                long seed = 101L * w;
                futures.add(executor.submit(() -> {
                    start.await();
                    SplittableRandom random = new SplittableRandom(seed);
                    for (int i = 0; i < PLATFORM_CALLS; i++) {
                        long permit = phase.tryAcquireProbe(permitted);
                        if (permit == AdmissionPolicy.REJECTED) {
                            continue;
                        }
                        assertEquals(phase.permit, permit, "the phase's probe permit");
                        mostTaken.accumulateAndGet(taken.incrementAndGet(), Math::max);
                        int kind = random.nextInt(1_000);
                        if (kind < 3) { // rarely: recorded probes keep their slot for good
                            int code = kind == 0 ? SlidingWindow.SUCCESS : kind == 1 ? SlidingWindow.FAILURE
                                    : SlidingWindow.FAILURE | SlidingWindow.SLOW;
                            recorded.incrementAndGet();
                            failed.addAndGet(SlidingWindow.isFailure(code) ? 1 : 0);
                            slow.addAndGet(SlidingWindow.isSlow(code) ? 1 : 0);
                            phase.completeProbe(code);
                        } else {
                            taken.decrementAndGet();
                            if (kind % 2 == 0) {
                                phase.releaseProbe();
                            } else {
                                phase.completeProbe(0); // ignored
                            }
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            awaitAll(futures);
        } finally {
            executor.shutdownNow();
        }
        long word = phase.probes();
        assertTrue(mostTaken.get() <= permitted, mostTaken.get() + " probes in flight or recorded at once, " + permitted + " permitted");
        assertEquals(0, Phase.inFlight(word), "in flight at rest");
        assertEquals(recorded.get(), Phase.recorded(word), "recorded probes");
        assertEquals(failed.get(), Phase.failed(word), "failed probes");
        assertEquals(slow.get(), Phase.slow(word), "slow probes");
        assertTrue(recorded.get() <= permitted, "recorded " + recorded.get());
    }

    // ---------------------------------------------------------------- count window at rest

    @Test
    void aCountWindowsTotalsEqualItsSlotsAtRest() throws Exception {
        for (int size : new int[] {1, 3, 64, 1_000}) {
            for (boolean mostlyHealthy : new boolean[] {false, true}) {
                CountWindow window = new CountWindow(size);
                hammerCountWindow(window, mostlyHealthy);
                long[] recount = recount(window);
                CircuitBreaker.Stats totals = window.stats(State.CLOSED);
                String where = "window of " + size + (mostlyHealthy ? ", mostly successes" : ", mixed outcomes");
                assertEquals(recount[0], totals.calls(), "calls, " + where);
                assertEquals(recount[1], totals.failedCalls(), "failed calls, " + where);
                assertEquals(recount[2], totals.slowCalls(), "slow calls, " + where);
                assertEquals(size, recount[0], "every slot holds a call after " + PLATFORM_THREADS * PLATFORM_CALLS + " records, " + where);

                // The same, through behaviour only: a full lap of failures leaves exactly `size` failures
                // if and only if the totals matched the evicted slots.
                for (int i = 0; i < size; i++) {
                    window.record(SlidingWindow.FAILURE);
                }
                assertEquals(new CircuitBreaker.Stats(State.CLOSED, size, size, 0), window.stats(State.CLOSED), "after a lap of failures, " + where);
            }
        }
    }

    private static void hammerCountWindow(CountWindow window, boolean mostlyHealthy) throws Exception {
        int[] codes = {SlidingWindow.SUCCESS, SlidingWindow.FAILURE, SlidingWindow.SUCCESS | SlidingWindow.SLOW,
                SlidingWindow.FAILURE | SlidingWindow.SLOW};
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService executor = Executors.newFixedThreadPool(PLATFORM_THREADS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < PLATFORM_THREADS; w++) {
                long seed = 7L * w + (mostlyHealthy ? 1 : 2);
                futures.add(executor.submit(() -> {
                    start.await();
                    SplittableRandom random = new SplittableRandom(seed);
                    for (int i = 0; i < PLATFORM_CALLS; i++) {
                        // Mostly healthy: the steady-state path (same code as the slot's) races with swaps.
                        int code = mostlyHealthy && random.nextInt(10) != 0 ? SlidingWindow.SUCCESS : codes[random.nextInt(codes.length)];
                        window.record(code);
                    }
                    return null;
                }));
            }
            start.countDown();
            awaitAll(futures);
        } finally {
            executor.shutdownNow();
        }
    }

    /** Calls, failed and slow calls over the window's slots (private: read by reflection, at rest). */
    private static long[] recount(CountWindow window) throws ReflectiveOperationException {
        Field field = CountWindow.class.getDeclaredField("slots");
        field.setAccessible(true);
        int[] slots = (int[]) field.get(window);
        long[] counts = new long[3];
        for (int code : slots) {
            if (code != 0) {
                counts[0]++;
                counts[1] += SlidingWindow.isFailure(code) ? 1 : 0;
                counts[2] += SlidingWindow.isSlow(code) ? 1 : 0;
            }
        }
        return counts;
    }

    // ---------------------------------------------------------------- time window at rest

    // ---------------------------------------------------------------- shared

    private static void awaitAll(List<Future<?>> futures) throws Exception {
        for (Future<?> future : futures) {
            future.get(120, TimeUnit.SECONDS);
        }
    }
}
