package dev.vigil.bulkhead;

import static dev.vigil.core.testing.Allocations.ROUNDS;
import static dev.vigil.core.testing.Allocations.assertAllocatesNothingPerRound;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Outcome;
import dev.vigil.core.Pipeline;
import dev.vigil.core.time.ManualScheduler;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A regression guard for the allocation-free claims of {@link Bulkhead} and {@link AdaptiveLimiter}
 * ("allocate nothing" on admission, completion and refusal), counted by the JVM's per-thread allocation
 * counter with core's {@code Allocations}: warm up, then assert that {@code ROUNDS} measured rounds
 * allocated less than a byte per round on this thread, even in the interpreter, where no escape
 * analysis hides an allocation.
 *
 * <p>Covered: a bulkhead's admission and end (complete and release), its refusal when full (with and
 * without a wait queue configured: {@code tryAcquirePermit} never queues), its waiting
 * {@code acquirePermit} when a permit is free, and a call through the policy API; a limiter's admission
 * and completion across many sample windows, so that every algorithm (Vegas, Gradient2, AIMD, each
 * wrapped to count its runs) computes limits during the measurement; a SHEDDABLE call shed through a
 * criticality view next to an admitted CRITICAL one; and a {@link Pipeline} of a bulkhead and a
 * limiter. Refusals are measured through {@code tryAcquirePermit} only: {@code rejection()} allocates
 * its exception by contract. Every policy reads a {@link ManualScheduler}'s clock, so no event or
 * timer is involved.
 */
class BulkheadAllocationTest {

    @Test
    void admissionAndEndOfABulkheadAllocateNothing() throws Exception {
        Bulkhead bulkhead = Bulkhead.builder().name("alloc").maxConcurrentCalls(4).scheduler(new ManualScheduler()).build();
        Bulkhead waiting = Bulkhead.builder().name("alloc-waiting").maxConcurrentCalls(4).maxWait(Duration.ofMillis(10))
                .scheduler(new ManualScheduler()).build();
        assertAllocatesNothingPerRound(() -> {
            long a = bulkhead.tryAcquirePermit();
            long b = bulkhead.tryAcquirePermit();
            bulkhead.complete(a, Outcome.SUCCESS, 0L);
            bulkhead.release(b);
            long c = waiting.acquirePermit(); // a free permit: taken at once, no waiter created
            long d = waiting.tryAcquirePermit();
            waiting.complete(c, Outcome.FAILURE, 0L);
            waiting.complete(d, Outcome.IGNORED, 0L);
            return admitted(a) + admitted(b) + admitted(c) + admitted(d);
        }, 4L);
        assertEquals(4, bulkhead.availablePermits());
        assertEquals(4, waiting.availablePermits());
        assertEquals(0L, bulkhead.rejectedCount() + waiting.rejectedCount());
    }

    @Test
    void aRefusalOfAFullBulkheadAllocatesNothing() throws Exception {
        Bulkhead bulkhead = Bulkhead.builder().name("alloc-full").maxConcurrentCalls(2).scheduler(new ManualScheduler()).build();
        Bulkhead queued = Bulkhead.builder().name("alloc-full-queued").maxConcurrentCalls(2).maxWait(Duration.ofMillis(10))
                .scheduler(new ManualScheduler()).build();
        for (int i = 0; i < 2; i++) {
            assertNotEquals(AdmissionPolicy.REJECTED, bulkhead.tryAcquirePermit());
            assertNotEquals(AdmissionPolicy.REJECTED, queued.tryAcquirePermit());
        }
        assertAllocatesNothingPerRound(() -> refused(bulkhead.tryAcquirePermit()) + refused(bulkhead.acquirePermit())
                + refused(queued.tryAcquirePermit()), 3L);
        assertEquals(4L * ROUNDS, bulkhead.rejectedCount(), "warm-up and measured rounds, two refusals each");
        assertEquals(2L * ROUNDS, queued.rejectedCount());
        assertEquals(0, queued.waitingCalls(), "tryAcquirePermit never queues");
    }

    @Test
    void aCallThroughTheBulkheadsPolicyApiAllocatesNothing() throws Exception {
        Bulkhead bulkhead = Bulkhead.builder().name("alloc-call").maxConcurrentCalls(1).maxWait(Duration.ofMillis(10))
                .scheduler(new ManualScheduler()).build();
        Callable<Integer> callable = () -> 42;
        assertAllocatesNothingPerRound(() -> bulkhead.call(callable), 42L);
        assertEquals(1, bulkhead.availablePermits());
    }

    @Test
    void admissionAndCompletionOfALimiterAllocateNothingAcrossSampleWindows() throws Exception {
        Counting vegas = new Counting(VegasLimit.builder().build());
        Counting gradient = new Counting(Gradient2Limit.builder().build());
        Counting aimd = new Counting(AimdLimit.builder().initialLimit(10).build());
        AdaptiveLimiter byVegas = limiter("alloc-vegas", vegas);
        AdaptiveLimiter byGradient = limiter("alloc-gradient", gradient);
        AdaptiveLimiter byAimd = limiter("alloc-aimd", aimd);
        long[] round = new long[1];
        assertAllocatesNothingPerRound(() -> {
            long i = round[0]++;
            long slowOrFast = (i & 1) == 0 ? 1_000_000L : 3_000_000L; // latencies that move the estimates
            long v = byVegas.tryAcquirePermit();
            byVegas.complete(v, Outcome.SUCCESS, slowOrFast);
            long g = byGradient.tryAcquirePermit();
            byGradient.complete(g, Outcome.SUCCESS, slowOrFast);
            long a = byAimd.tryAcquirePermit();
            byAimd.complete(a, i % 7 == 0 ? Outcome.FAILURE : Outcome.SUCCESS, slowOrFast); // some windows have a drop
            return admitted(v) + admitted(g) + admitted(a);
        }, 3L);
        for (Counting algorithm : new Counting[] {vegas, gradient, aimd}) {
            assertTrue(algorithm.runs.get() > 100, algorithm.delegate + " ran in many windows: " + algorithm.runs.get());
        }
        assertEquals(0, byVegas.inFlight() + byGradient.inFlight() + byAimd.inFlight());
        assertTrue(byAimd.limit() < 10, "the drops moved AIMD's limit down: " + byAimd.limit());
    }

    @Test
    void aShedSheddableCallAllocatesNothing() throws Exception {
        AdaptiveLimiter limiter = AdaptiveLimiter.builder().name("alloc-shed")
                .algorithm(AimdLimit.builder().initialLimit(4).minLimit(4).maxLimit(4).build()) // a fixed limit of 4
                .scheduler(new ManualScheduler()).build();
        for (int i = 0; i < 3; i++) {
            assertNotEquals(AdmissionPolicy.REJECTED, limiter.tryAcquirePermit(), "DEFAULT may fill ceil(4 x 0.7) = 3");
        }
        AdmissionPolicy sheddable = limiter.with(Criticality.SHEDDABLE); // may fill ceil(4 x 0.5) = 2: full
        AdmissionPolicy critical = limiter.with(Criticality.CRITICAL);
        assertAllocatesNothingPerRound(() -> {
            long shed = sheddable.tryAcquirePermit();
            long admitted = critical.tryAcquirePermit();
            critical.complete(admitted, Outcome.SUCCESS, 1_000_000L);
            return refused(shed) + admitted(admitted);
        }, 2L);
        assertEquals(2L * ROUNDS, limiter.shedCount(Criticality.SHEDDABLE), "warm-up and measured rounds");
        assertEquals(0L, limiter.shedCount(Criticality.CRITICAL));
        assertEquals(3, limiter.inFlight());
    }

    @Test
    void aPipelineOfABulkheadAndALimiterAllocatesNothingPerCall() throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        Bulkhead bulkhead = Bulkhead.builder().name("alloc-pipeline").maxConcurrentCalls(2).scheduler(scheduler).build();
        AdaptiveLimiter limiter = AdaptiveLimiter.builder().name("alloc-pipeline").sampleWindow(5).scheduler(scheduler).build();
        Pipeline pipeline = Pipeline.of(bulkhead, limiter);
        Callable<Integer> callable = () -> 42;
        assertAllocatesNothingPerRound(() -> pipeline.call(callable), 42L);
        assertEquals(2, bulkhead.availablePermits());
        assertEquals(0, limiter.inFlight());
        assertEquals(2L * ROUNDS, limiter.successCount(), "warm-up and measured rounds");
    }

    private static AdaptiveLimiter limiter(String name, LimitAlgorithm algorithm) {
        return AdaptiveLimiter.builder().name(name).algorithm(algorithm).sampleWindow(5).scheduler(new ManualScheduler()).build();
    }

    private static long admitted(long permit) {
        return permit == AdmissionPolicy.REJECTED ? 1_000L : 1L; // a refusal spoils the checksum
    }

    private static long refused(long permit) {
        return permit == AdmissionPolicy.REJECTED ? 1L : 1_000L;
    }

    /** A real algorithm whose estimator counts its runs (one lambda per limiter, created at build). */
    static final class Counting implements LimitAlgorithm {
        final LimitAlgorithm delegate;
        final AtomicLong runs = new AtomicLong();

        Counting(LimitAlgorithm delegate) {
            this.delegate = delegate;
        }

        @Override
        public int initialLimit() {
            return delegate.initialLimit();
        }

        @Override
        public int minLimit() {
            return delegate.minLimit();
        }

        @Override
        public int maxLimit() {
            return delegate.maxLimit();
        }

        @Override
        public Estimator newEstimator() {
            Estimator estimator = delegate.newEstimator();
            return (limit, window) -> {
                runs.incrementAndGet();
                return estimator.next(limit, window);
            };
        }
    }
}
