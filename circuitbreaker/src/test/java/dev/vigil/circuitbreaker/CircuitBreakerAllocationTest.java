package dev.vigil.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vigil.circuitbreaker.CircuitBreaker.State;
import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Outcome;
import dev.vigil.core.Pipeline;
import dev.vigil.core.time.ManualScheduler;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;

/**
 * A regression guard for the allocation-free claims of {@link CircuitBreaker} and
 * {@link AdaptiveThrottle}, counted by the JVM's per-thread allocation counter (bytes, not time:
 * deterministic), as core's {@code AllocationTest} does: warm up, then assert that many measured calls
 * allocated less than a byte per call on this thread, even in the interpreter, where no escape analysis
 * hides an allocation.
 *
 * <p>Time windows allocate one bucket object per bucket period by design: the breakers and throttles
 * here read a {@link ManualScheduler}'s clock that never moves, so their one bucket is created during
 * the warm-up. Rejections are measured through {@link AdmissionPolicy#tryAcquirePermit()} only:
 * {@link AdmissionPolicy#rejection()} allocates its exception by contract.
 */
class CircuitBreakerAllocationTest {
    static {
        // Transitions log a line each; quieten the breaker's logger for the whole test JVM unless the
        // build configured it (slf4j-simple reads this when the logger is created, by whichever test
        // class first loads the breaker).
        if (System.getProperty("org.slf4j.simpleLogger.log.dev.vigil.circuitbreaker") == null) {
            System.setProperty("org.slf4j.simpleLogger.log.dev.vigil.circuitbreaker", "error");
        }
    }

    private static final int CALLS = 20_000;

    /** One round of calls, returning the sum of their results (so nothing is optimised away). */
    @FunctionalInterface
    private interface Round {
        long run() throws Exception;
    }

    @Test
    void theClosedSuccessPathOverACountWindowAllocatesNothingPerCall() throws Exception {
        CircuitBreaker breaker = CircuitBreaker.builder().name("alloc-count").countWindow(100).build(); // every other default
        CircuitBreaker timed = CircuitBreaker.builder().name("alloc-count-timed").countWindow(100)
                .slowCallDuration(Duration.ofSeconds(30)).build(); // measures each call's latency on the system clock
        Callable<Integer> callable = () -> 42;
        assertAllocatesNothingPerRound(() -> breaker.call(callable) + timed.call(callable), 84L);
        assertEquals(State.CLOSED, breaker.state());
        assertEquals(2L * CALLS, breaker.successCount(), "warm-up and measured rounds");
        assertEquals(2L * CALLS, timed.successCount(), "warm-up and measured rounds");
        assertEquals(0L, timed.slowCallCount());
    }

    @Test
    void theClosedSuccessPathOverATimeWindowAllocatesNothingPerCall() throws Exception {
        ManualScheduler scheduler = new ManualScheduler(); // fixed time: one bucket, created at the first record
        CircuitBreaker breaker = CircuitBreaker.builder().name("alloc-time").timeWindow(Duration.ofSeconds(10), 10)
                .slowCallDuration(Duration.ofSeconds(1)) // also reads the (virtual) clock per call
                .scheduler(scheduler).build();
        Callable<Integer> callable = () -> 42;
        assertAllocatesNothingPerRound(() -> breaker.call(callable), 42L);
        assertEquals(State.CLOSED, breaker.state());
        assertEquals(2L * CALLS, breaker.successCount(), "warm-up and measured rounds");
        assertEquals(new CircuitBreaker.Stats(State.CLOSED, 2L * CALLS, 0, 0), breaker.stats(), "every call is in the one bucket");
    }

    @Test
    void theOpenRejectionPathAllocatesNothingPerCall() throws Exception {
        ManualScheduler scheduler = new ManualScheduler(); // never advanced: open for good
        CircuitBreaker open = CircuitBreaker.builder().name("alloc-open").scheduler(scheduler).build();
        open.transitionToOpen();
        CircuitBreaker forced = CircuitBreaker.builder().name("alloc-forced").scheduler(scheduler).build();
        forced.transitionToForcedOpen();
        assertAllocatesNothingPerRound(() -> (open.tryAcquirePermit() == AdmissionPolicy.REJECTED ? 1 : 0)
                + (forced.tryAcquirePermit() == AdmissionPolicy.REJECTED ? 1 : 0), 2L);
        assertEquals(State.OPEN, open.state());
        assertEquals(2L * CALLS, open.rejectedCount(), "warm-up and measured rounds");
        assertEquals(2L * CALLS, forced.rejectedCount(), "warm-up and measured rounds");
    }

    /** Probes that are admitted and cancelled, and calls rejected because every probe is taken: no transition, no allocation. */
    @Test
    void theHalfOpenProbePathAllocatesNothingPerCall() throws Exception {
        CircuitBreaker breaker = CircuitBreaker.builder().name("alloc-half-open").permittedCallsInHalfOpen(1)
                .scheduler(new ManualScheduler()).build();
        breaker.transitionToHalfOpen();
        assertAllocatesNothingPerRound(() -> {
            long probe = breaker.tryAcquirePermit();
            long rejected = breaker.tryAcquirePermit(); // the only probe is out
            breaker.complete(probe, Outcome.IGNORED, 0L); // frees the slot without deciding
            long again = breaker.tryAcquirePermit();
            breaker.release(again);
            return (probe >= 0 ? 1 : 0) + (rejected == AdmissionPolicy.REJECTED ? 1 : 0) + (again >= 0 ? 1 : 0);
        }, 3L);
        assertEquals(State.HALF_OPEN, breaker.state());
        assertEquals(2L * CALLS, breaker.rejectedCount(), "warm-up and measured rounds");
        assertEquals(2L * CALLS, breaker.ignoredCount(), "warm-up and measured rounds");
    }

    @Test
    void aPipelineOfABreakerAndAnotherAdmissionPolicyAllocatesNothingPerCall() throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        CircuitBreaker breaker = CircuitBreaker.builder().name("alloc-pipeline-breaker").countWindow(50).scheduler(scheduler).build();
        AdaptiveThrottle throttle = AdaptiveThrottle.builder().name("alloc-pipeline-throttle").scheduler(scheduler).build();
        CircuitBreaker timeBreaker = CircuitBreaker.builder().name("alloc-pipeline-time").timeWindow(Duration.ofSeconds(60), 6)
                .scheduler(scheduler).build();
        Pipeline pipeline = Pipeline.of(breaker, throttle, timeBreaker);
        Callable<Integer> callable = () -> 42;
        assertAllocatesNothingPerRound(() -> pipeline.call(callable), 42L);
        assertEquals(2L * CALLS, breaker.successCount(), "warm-up and measured rounds");
        assertEquals(2L * CALLS, throttle.acceptedCount(), "warm-up and measured rounds");
        assertEquals(2L * CALLS, timeBreaker.successCount(), "warm-up and measured rounds");
    }

    @Test
    void theHealthyPathOfAnAdaptiveThrottleAllocatesNothingPerCall() throws Exception {
        ManualScheduler scheduler = new ManualScheduler(); // fixed time: one bucket, created at the first record
        AdaptiveThrottle throttle = AdaptiveThrottle.builder().name("alloc-throttle").scheduler(scheduler).build();
        Callable<Integer> callable = () -> 42;
        assertAllocatesNothingPerRound(() -> {
            long permit = throttle.tryAcquirePermit(); // the admission protocol by hand, as an interceptor would
            throttle.complete(permit, Outcome.SUCCESS, 0L);
            return throttle.call(callable) + (permit == AdmissionPolicy.REJECTED ? 1000 : 0);
        }, 42L);
        assertEquals(0.0, throttle.rejectProbability(), "a healthy dependency is never throttled");
        assertEquals(4L * CALLS, throttle.acceptedCount(), "two calls per round, warm-up and measured");
        assertEquals(0L, throttle.rejectedCount());
    }

    /**
     * Runs {@code round} {@link #CALLS} times to warm up (class loading, the first bucket of a time
     * window), then {@link #CALLS} times measured, and asserts that each round returned
     * {@code expectedSum} and that the measured rounds allocated less than a byte per round on this
     * thread.
     */
    private static void assertAllocatesNothingPerRound(Round round, long expectedSum) throws Exception {
        com.sun.management.ThreadMXBean threads = threadBean();
        for (int i = 0; i < CALLS; i++) {
            round.run();
        }
        long thread = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(thread);
        long calibration = threads.getThreadAllocatedBytes(thread) - before;
        before = threads.getThreadAllocatedBytes(thread);
        long sum = 0;
        for (int i = 0; i < CALLS; i++) {
            sum += round.run();
        }
        long allocated = threads.getThreadAllocatedBytes(thread) - before - calibration;
        assertEquals(CALLS * expectedSum, sum, "every round returned " + expectedSum);
        assertEquals(0L, allocated / CALLS, "bytes per round (total " + allocated + " over " + CALLS + " rounds)");
    }

    private static com.sun.management.ThreadMXBean threadBean() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "needs HotSpot's allocation counter");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "needs HotSpot's allocation counter");
        threads.setThreadAllocatedMemoryEnabled(true);
        return threads;
    }
}
