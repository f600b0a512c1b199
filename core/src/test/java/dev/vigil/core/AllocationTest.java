package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * A regression guard for the allocation-free claim, counted by the JVM's per-thread allocation
 * counter (bytes, not time: deterministic). The claim itself is measured with JMH {@code -prof gc}
 * in benchmarks/; this test fails the build if a change makes the admission path allocate, even in
 * the interpreter, where no escape analysis hides an allocation.
 */
class AllocationTest {
    private static final int CALLS = 20_000;

    /** One round of calls, returning the sum of their results (so nothing is optimised away). */
    @FunctionalInterface
    private interface Round {
        long run() throws Exception;
    }

    @Test
    void aPipelineOfFourAdmissionPoliciesAllocatesNothingPerCall() throws Exception {
        Pipeline pipeline = Pipeline.of(new NoOpAdmission("a"), new NoOpAdmission("b"), new NoOpAdmission("c"), new NoOpAdmission("d"));
        Callable<Integer> callable = () -> 42;
        Supplier<Integer> supplier = () -> 43;
        assertAllocatesNothingPerRound(() -> pipeline.call(callable) + pipeline.get(supplier), 85L);
    }

    @Test
    void theSuccessPathOfRetryAllocatesNothingPerCall() throws Exception {
        RetryBudget budget = RetryBudget.tokenBucket().build();
        Retry retry = Retry.builder().maxAttempts(3).budget(budget).build();
        Pipeline pipeline = Pipeline.of(retry, new NoOpAdmission("inner"));
        Callable<Integer> callable = () -> 42;
        assertAllocatesNothingPerRound(() -> retry.call(callable) + pipeline.call(callable), 84L);
        assertEquals(2L * CALLS * 2, retry.successCount(), "warm-up and measured rounds, two calls each");
    }

    /**
     * Runs {@code round} {@link #CALLS} times to warm up (class loading, thread-local set-up), then
     * {@link #CALLS} times measured, and asserts that each round returned {@code expectedSum} and that
     * the measured rounds allocated less than a byte per round on this thread.
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
        assertEquals(CALLS * expectedSum, sum);
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
