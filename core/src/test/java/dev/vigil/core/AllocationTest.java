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

    @Test
    void aPipelineOfFourAdmissionPoliciesAllocatesNothingPerCall() throws Exception {
        com.sun.management.ThreadMXBean threads = threadBean();
        Pipeline pipeline = Pipeline.of(new NoOpAdmission("a"), new NoOpAdmission("b"), new NoOpAdmission("c"), new NoOpAdmission("d"));
        Callable<Integer> callable = () -> 42;
        Supplier<Integer> supplier = () -> 43;
        for (int i = 0; i < CALLS; i++) { // warm up: class loading, thread-local set-up
            pipeline.call(callable);
            pipeline.get(supplier);
        }
        long thread = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(thread);
        long calibration = threads.getThreadAllocatedBytes(thread) - before;
        before = threads.getThreadAllocatedBytes(thread);
        long sum = 0;
        for (int i = 0; i < CALLS; i++) {
            sum += pipeline.call(callable);
            sum += pipeline.get(supplier);
        }
        long allocated = threads.getThreadAllocatedBytes(thread) - before - calibration;
        assertEquals(CALLS * 85L, sum);
        assertEquals(0L, allocated / CALLS, "bytes per call (total " + allocated + " over " + CALLS + " calls)");
    }

    @Test
    void theSuccessPathOfRetryAllocatesNothingPerCall() throws Exception {
        com.sun.management.ThreadMXBean threads = threadBean();
        RetryBudget budget = RetryBudget.tokenBucket().build();
        Retry retry = Retry.builder().maxAttempts(3).budget(budget).build();
        Pipeline pipeline = Pipeline.of(retry, new NoOpAdmission("inner"));
        Callable<Integer> callable = () -> 42;
        for (int i = 0; i < CALLS; i++) { // warm up: class loading, thread-local set-up
            retry.call(callable);
            pipeline.call(callable);
        }
        long thread = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(thread);
        long calibration = threads.getThreadAllocatedBytes(thread) - before;
        before = threads.getThreadAllocatedBytes(thread);
        long sum = 0;
        for (int i = 0; i < CALLS; i++) {
            sum += retry.call(callable);
            sum += pipeline.call(callable);
        }
        long allocated = threads.getThreadAllocatedBytes(thread) - before - calibration;
        assertEquals(CALLS * 84L, sum);
        assertEquals(0L, allocated / CALLS, "bytes per call (total " + allocated + " over " + CALLS + " calls)");
        assertEquals(2L * CALLS * 2, retry.successCount());
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
