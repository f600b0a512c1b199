package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vigil.core.testing.Allocations;
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
    @Test
    void aPipelineOfFourAdmissionPoliciesAllocatesNothingPerCall() throws Exception {
        Pipeline pipeline = Pipeline.of(new NoOpAdmission("a"), new NoOpAdmission("b"), new NoOpAdmission("c"), new NoOpAdmission("d"));
        Callable<Integer> callable = () -> 42;
        Supplier<Integer> supplier = () -> 43;
        Allocations.assertAllocatesNothingPerRound(() -> pipeline.call(callable) + pipeline.get(supplier), 85L);
    }

    @Test
    void theSuccessPathOfRetryAllocatesNothingPerCall() throws Exception {
        RetryBudget budget = RetryBudget.tokenBucket().build();
        Retry retry = Retry.builder().maxAttempts(3).budget(budget).build();
        Pipeline pipeline = Pipeline.of(retry, new NoOpAdmission("inner"));
        Callable<Integer> callable = () -> 42;
        Allocations.assertAllocatesNothingPerRound(() -> retry.call(callable) + pipeline.call(callable), 84L);
        assertEquals(2L * Allocations.ROUNDS * 2, retry.successCount(), "warm-up and measured rounds, two calls each");
    }
}
