package dev.vigil.governor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.testing.VirtualThreads;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The rate limiters under real threads, where Lincheck does not go: several limits at once (whose
 * refusals are not linearizable, see {@link RateLimiter}), the key cap of a keyed limiter, and
 * thousands of waiting virtual threads. Bounded in rounds and time; virtual time wherever the check
 * needs to know the instant of each call (time moves only between rounds, while no thread calls).
 */
class RateLimiterStressTest {
    private static final int THREADS = 4;
    private static final int ROUNDS = 300;

    @Test
    void severalLimitsNeverLetThroughMoreThanEachAllows() throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        long[] intervals = {1_000_000L, 5_000_000L}; // 1,000 per second (burst 8) and 200 per second (burst 20)
        long[] caps = {8 * intervals[0], 20 * intervals[1]};
        RateLimiter limiter = RateLimiter.builder().scheduler(scheduler)
                .limit(1_000, Duration.ofSeconds(1), 8).limit(200, Duration.ofSeconds(1), 20).build();
        long[] credit = caps.clone();
        SplittableRandom random = new SplittableRandom(20261121);
        AtomicLong admittedInRound = new AtomicLong();
        CyclicBarrier start = new CyclicBarrier(THREADS + 1);
        CyclicBarrier end = new CyclicBarrier(THREADS + 1);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        long total = 0;
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                workers.add(pool.submit(() -> {
                    for (int round = 0; round < ROUNDS; round++) {
                        start.await(10, TimeUnit.SECONDS);
                        for (int call = 0; call < 10; call++) {
                            if (limiter.tryAcquire()) {
                                admittedInRound.incrementAndGet();
                            }
                        }
                        end.await(10, TimeUnit.SECONDS);
                    }
                    return null;
                }));
            }
            for (int round = 0; round < ROUNDS; round++) {
                long step = random.nextLong(0, 12_000_000L);
                scheduler.advance(Duration.ofNanos(step));
                for (int i = 0; i < 2; i++) {
                    credit[i] = Math.min(caps[i], credit[i] + step);
                }
                admittedInRound.set(0);
                start.await(10, TimeUnit.SECONDS);
                end.await(10, TimeUnit.SECONDS);
                long admitted = admittedInRound.get();
                long allowed = Math.min(credit[0] / intervals[0], credit[1] / intervals[1]);
                final int r = round;
                assertTrue(admitted <= allowed, () -> "round " + r + ": " + admitted + " admitted at one instant, the limits allow " + allowed);
                for (int i = 0; i < 2; i++) {
                    credit[i] -= admitted * intervals[i];
                }
                total += admitted;
            }
            for (Future<?> worker : workers) {
                worker.get(10, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
        }
        assertTrue(total > 0, "calls got through");
    }

    @Test
    void aKeyedLimiterNeverTracksMoreKeysThanItsCap() throws Exception {
        ManualTicker ticker = new ManualTicker();
        int maxKeys = 64;
        KeyedRateLimiter<Integer> limiter = KeyedRateLimiter.<Integer>builder().ticker(ticker).limit(10, Duration.ofSeconds(1), 2)
                .maxKeys(maxKeys).evictionInterval(Duration.ofMillis(50)).build();
        AtomicInteger over = new AtomicInteger();
        AtomicInteger hotAdmitted = new AtomicInteger();
        CyclicBarrier start = new CyclicBarrier(THREADS + 1);
        CyclicBarrier end = new CyclicBarrier(THREADS + 1);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                workers.add(pool.submit(() -> {
                    SplittableRandom random = new SplittableRandom(thread);
                    for (int round = 0; round < ROUNDS; round++) {
                        start.await(10, TimeUnit.SECONDS);
                        for (int call = 0; call < 50; call++) {
                            if (call % 10 == 0 && limiter.tryAcquire(-1)) { // one hot key shared by every thread
                                hotAdmitted.incrementAndGet();
                            }
                            limiter.tryAcquire(random.nextInt(1_000)); // a flood of distinct keys
                            if (limiter.keyCount() > maxKeys) {
                                over.incrementAndGet();
                            }
                        }
                        end.await(10, TimeUnit.SECONDS);
                    }
                    return null;
                }));
            }
            double hotCredit = 2;
            for (int round = 0; round < ROUNDS; round++) {
                ticker.advance(Duration.ofMillis(20));
                hotCredit = Math.min(2, hotCredit + 0.2);
                hotAdmitted.set(0);
                start.await(10, TimeUnit.SECONDS);
                end.await(10, TimeUnit.SECONDS);
                int admitted = hotAdmitted.get();
                final double credit = hotCredit;
                assertTrue(admitted <= Math.floor(credit + 1e-9), () -> "hot key: " + admitted + " admitted with " + credit + " permits of credit");
                hotCredit -= admitted;
                assertTrue(limiter.keyCount() <= maxKeys);
            }
            for (Future<?> worker : workers) {
                worker.get(10, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
        }
        assertEquals(0, over.get(), "the key count was seen above the cap");
        assertTrue(limiter.rejectedNewKeyCount() > 0, "the flood did reach the cap");
    }

    @Test
    void thousandsOfVirtualThreadsWaitForTheirSlots() throws Exception {
        ExecutorService executor = VirtualThreads.executor(); // JDK 21+, else skipped
        // Real time: 20,000 per second with a burst of 50; 2,000 callers each wait up to 10 s for one permit.
        RateLimiter limiter = RateLimiter.builder().limit(20_000, Duration.ofSeconds(1), 50).build();
        int callers = 2_000;
        long begin = System.nanoTime();
        try {
            List<Future<Boolean>> calls = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                calls.add(executor.submit(() -> limiter.acquire(1, Duration.ofSeconds(10))));
            }
            for (Future<Boolean> call : calls) {
                assertTrue(call.get(30, TimeUnit.SECONDS), "every caller got its slot within its max wait");
            }
        } finally {
            executor.shutdownNow();
        }
        long elapsed = System.nanoTime() - begin;
        // Never early: after the burst of 50, one permit per 50 microseconds.
        assertTrue(elapsed >= (callers - 50) * 50_000L, "the slots were spread at the rate: " + elapsed + " ns");
        assertEquals(0, limiter.rejectedCount());
    }

    /** A key whose n-th {@code hashCode} parks its thread until released: holds an insertion mid-way. */
    static final class ParkingKey {
        private final int parkOnCall;
        private final AtomicInteger calls = new AtomicInteger();
        final java.util.concurrent.CountDownLatch parked = new java.util.concurrent.CountDownLatch(1);
        final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);

        ParkingKey(int parkOnCall) {
            this.parkOnCall = parkOnCall;
        }

        @Override
        public int hashCode() {
            if (calls.incrementAndGet() == parkOnCall) {
                parked.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return 42;
        }
    }

    @Test
    void aKeyPublishedWhileALookForRoomSweepsIsNotLeftOutOfTheNextLook() throws Exception {
        // (Found by review.) One slot; a thread holds its new key between taking the slot and publishing
        // it, while another key's look for room at the cap sweeps and finds nothing (the held key is not
        // in the map yet). Once published, and idle, the held key's slot must be found by the next look.
        ManualTicker ticker = new ManualTicker();
        KeyedRateLimiter<Object> limiter = KeyedRateLimiter.builder().ticker(ticker).limit(1_000, Duration.ofSeconds(1_000))
                .maxKeys(1).evictionInterval(Duration.ofHours(1)).build(); // interval 1 s
        ParkingKey held = new ParkingKey(2); // call 1: the lookup; call 2: publishing the entry
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Boolean> holder = pool.submit(() -> limiter.tryAcquire(held));
            assertTrue(held.parked.await(10, TimeUnit.SECONDS));
            assertFalse(limiter.tryAcquire("other"), "the only slot is taken: refused");
            held.release.countDown();
            assertTrue(holder.get(10, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
        }
        ticker.advance(Duration.ofSeconds(2)); // the held key took one permit: idle since 1 s
        assertEquals(0, limiter.nanosUntilAvailable("next", 1));
        assertTrue(limiter.tryAcquire("next"), "the idle key's slot goes to the new key");
        assertEquals(1, limiter.keyCount());
    }
}
