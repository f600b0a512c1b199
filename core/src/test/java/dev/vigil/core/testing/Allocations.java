package dev.vigil.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;

/**
 * A regression guard for allocation-free claims, shared by every module's tests (through core's test
 * jar): counts bytes with the JVM's per-thread allocation counter, which is deterministic, unlike time.
 * The claims themselves are measured with JMH {@code -prof gc} in benchmarks/; this fails the build if
 * a change makes a hot path allocate, even in the interpreter, where no escape analysis hides it.
 */
public final class Allocations {
    /** Rounds per warm-up and per measurement. */
    public static final int ROUNDS = 20_000;

    private Allocations() {}

    /** One round of calls, returning a checksum of their results (so nothing is optimised away). */
    @FunctionalInterface
    public interface Round {
        /**
         * @return the round's checksum
         * @throws Exception if a call fails
         */
        long run() throws Exception;
    }

    /**
     * Runs {@code round} {@link #ROUNDS} times to warm up (class loading, thread-local set-up), then
     * {@link #ROUNDS} times measured, and asserts that each round returned {@code expectedSum} and that
     * the measured rounds allocated less than a byte per round on this thread. Skips (assumption) on a
     * JVM without HotSpot's allocation counter.
     *
     * @param round       the calls to measure
     * @param expectedSum what every round returns
     * @throws Exception if a round throws
     */
    public static void assertAllocatesNothingPerRound(Round round, long expectedSum) throws Exception {
        com.sun.management.ThreadMXBean threads = threadBean();
        for (int i = 0; i < ROUNDS; i++) {
            round.run();
        }
        long thread = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(thread);
        long calibration = threads.getThreadAllocatedBytes(thread) - before;
        before = threads.getThreadAllocatedBytes(thread);
        long sum = 0;
        for (int i = 0; i < ROUNDS; i++) {
            sum += round.run();
        }
        long allocated = threads.getThreadAllocatedBytes(thread) - before - calibration;
        assertEquals(ROUNDS * expectedSum, sum, "checksum over the measured rounds");
        assertEquals(0L, allocated / ROUNDS, "bytes per round (total " + allocated + " over " + ROUNDS + " rounds)");
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
