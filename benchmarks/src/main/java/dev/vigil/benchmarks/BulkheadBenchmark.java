package dev.vigil.benchmarks;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.function.CheckedSupplier;
import dev.vigil.bulkhead.Bulkhead;
import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Outcome;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of a bulkhead's hot path: take a permit, run nothing, give the permit back, with 25 permits
 * and no waiting, so that at 1, 2 or 4 benchmark threads a permit is always free and every call is
 * admitted. What is measured is the admission bookkeeping alone, and how it scales when threads share
 * one bulkhead ({@code -t 2}, {@code -t 4}).
 *
 * <p><b>The acquire/release pair</b>, nothing between the two (the same empty body for all four):
 * <ul>
 *   <li>Vigil {@code Bulkhead.of(name, 25)} (no max wait: the default) through its allocation-free
 *       admission protocol, {@code tryAcquirePermit()} then {@code complete(permit, Outcome.SUCCESS, 0)}
 *       ({@link #vigilTryAcquireComplete}); a bulkhead does not measure latency
 *       ({@code measuresLatency()} is false), so no clock is read;</li>
 *   <li>resilience4j 2.4.0 {@code SemaphoreBulkhead} ({@code Bulkhead.of(name, config)}, its default
 *       config but {@code maxConcurrentCalls(25)} (also its default) and {@code maxWaitDuration(0)}
 *       (also its default)) through {@code acquirePermission()} then {@code onComplete()}
 *       ({@link #resilience4jAcquireOnComplete}): exactly what its own decorators call (the bytecode of
 *       {@code Bulkhead.decorateCheckedSupplier} in 2.4.0 is {@code acquirePermission(); try { get }
 *       finally { onComplete(); }}), and {@code acquirePermission()} is {@code tryAcquirePermission()}
 *       plus a throw when refused. Its default is {@code fairCallHandlingStrategyEnabled(true)}: a
 *       <em>fair</em> {@code java.util.concurrent.Semaphore}, acquired with
 *       {@code tryAcquire(0, MILLISECONDS)} (which honours fairness: it takes no permit while another
 *       thread is queued), released with {@code release()}; both ends also check for event consumers
 *       (there are none). It is kept fair here because that is what a user gets;
 *       {@link #resilience4jTryAcquireOnComplete} calls {@code tryAcquirePermission()} directly, the
 *       same path without the throw;</li>
 *   <li>Failsafe 3.3.2 {@code Bulkhead.of(25)} through {@code tryAcquirePermit()} then
 *       {@code releasePermit()} ({@link #failsafeTryAcquireRelease}): both are {@code synchronized}
 *       methods on one monitor (an int counter; release also checks a list of pending async waiters);</li>
 *   <li>a plain non-fair {@code java.util.concurrent.Semaphore(25)}, {@code tryAcquire()} then
 *       {@code release()} ({@link #semaphoreTryAcquireRelease}): one CAS on one shared counter at each
 *       end, the floor for an unstriped design.</li>
 * </ul>
 *
 * <p><b>Around a call</b>: the same bulkheads around a pre-built call returning a boxed constant,
 * through each library's own one-line API, so the cost a user of the convenience API sees: Vigil
 * {@code bulkhead.call(callable)} ({@link #vigilCall}; {@code Admissions.execute}: acquire, call,
 * classify the result, {@code complete}; no clock read since the bulkhead does not measure latency),
 * resilience4j {@code executeCallable(callable)} ({@link #resilience4jExecuteCallable}) and Failsafe
 * {@code Failsafe.with(bulkhead).get(supplier)}, the executor built once ({@link #failsafeGet}).
 *
 * <p>Every bulkhead and call object is built once in {@link #setUp} and shared by the benchmark threads
 * ({@code Scope.Benchmark}), so {@code -t 2} and {@code -t 4} show contention on one bulkhead. The
 * try-style methods count a refusal (a cold branch, never taken when the claim holds) and return the
 * permit or the admission decision so the JIT cannot drop it. {@link #tearDown} checks that the run did
 * what it claims: no call was refused (Vigil's {@code rejectedCount()}, the refusals counted here; a
 * refused {@code acquirePermission()} or {@code call} would have thrown and failed the run), and no
 * permit leaked: every bulkhead has its 25 permits free again (Vigil {@code availablePermits()},
 * resilience4j {@code getAvailableConcurrentCalls()}, {@code Semaphore.availablePermits()}; Failsafe
 * exposes no count, so it must grant exactly 25 {@code tryAcquirePermit()} in a row and refuse the
 * 26th).
 *
 * <p>What it shows: Vigil's permits are spread over padded stripes chosen by thread id (as many stripes
 * as twice the processors, rounded to a power of two, at most 64 and at most the permit count), so
 * {@code tryAcquirePermit} is a volatile read and one CAS on the calling thread's own stripe and
 * {@code complete} one atomic add to it: JMH's worker threads are created together, so their ids are
 * consecutive and they land on different stripes, and the pair should cost about the same at 2 and 4
 * threads as at 1 (up to the processors the machine has), allocating 0 B/op. A non-fair
 * {@code Semaphore} is the same two atomics on one shared word, so its cost should rise at 2 threads
 * as the threads fight for that cache line; resilience4j adds to that the fair semaphore's check of
 * its wait queue (and its event-consumer checks), and Failsafe pays for a monitor enter/exit at each
 * end, contended at 2 threads. None of the four should allocate on this path (Vigil's
 * {@code call} and resilience4j's {@code executeCallable} allocate nothing either; Failsafe's
 * {@code get} allocates its execution objects per call).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class BulkheadBenchmark {
    /** resilience4j's default maxConcurrentCalls, given to every bulkhead: far above the 4 threads measured. */
    private static final int MAX_CONCURRENT_CALLS = 25;

    private Callable<Integer> callable;
    private CheckedSupplier<Integer> checkedSupplier;

    private Bulkhead vigil;
    private io.github.resilience4j.bulkhead.Bulkhead r4j;
    private dev.failsafe.Bulkhead<Integer> failsafe;
    private FailsafeExecutor<Integer> failsafeExecutor;
    private Semaphore semaphore;

    /** Refusals seen by the try-style benchmarks of the peers (Vigil counts its own). */
    private final LongAdder refused = new LongAdder();

    /** Builds the bulkheads and the call once, outside the measurement. */
    @Setup
    public void setUp() {
        Integer value = 42;
        callable = () -> value;
        checkedSupplier = () -> value;

        vigil = Bulkhead.of("vigil", MAX_CONCURRENT_CALLS);
        r4j = io.github.resilience4j.bulkhead.Bulkhead.of("r4j", BulkheadConfig.custom()
                .maxConcurrentCalls(MAX_CONCURRENT_CALLS)
                .maxWaitDuration(Duration.ZERO)
                .build());
        failsafe = dev.failsafe.Bulkhead.of(MAX_CONCURRENT_CALLS);
        failsafeExecutor = Failsafe.with(failsafe);
        semaphore = new Semaphore(MAX_CONCURRENT_CALLS);
    }

    /** Fails the run if a call was refused or a permit leaked. */
    @TearDown(Level.Trial)
    public void tearDown() {
        if (vigil.rejectedCount() != 0 || refused.sum() != 0) {
            throw new IllegalStateException("calls were refused (Vigil " + vigil.rejectedCount() + ", peers " + refused.sum()
                    + "), so the benchmark did not measure the admission path alone");
        }
        check(vigil.availablePermits() == MAX_CONCURRENT_CALLS && vigil.concurrentCalls() == 0,
                "Vigil has " + vigil.availablePermits() + " free permits");
        int r4jFree = r4j.getMetrics().getAvailableConcurrentCalls();
        check(r4jFree == MAX_CONCURRENT_CALLS, "resilience4j has " + r4jFree + " free permits");
        check(semaphore.availablePermits() == MAX_CONCURRENT_CALLS, "the semaphore has " + semaphore.availablePermits() + " free permits");
        int granted = 0;
        while (granted <= MAX_CONCURRENT_CALLS && failsafe.tryAcquirePermit()) {
            granted++;
        }
        for (int i = 0; i < granted; i++) {
            failsafe.releasePermit();
        }
        check(granted == MAX_CONCURRENT_CALLS, "Failsafe granted " + granted + " permits in a row, not " + MAX_CONCURRENT_CALLS);
    }

    private static void check(boolean condition, String what) {
        if (!condition) {
            throw new IllegalStateException("a permit leaked: " + what + " after the run, of " + MAX_CONCURRENT_CALLS);
        }
    }

    // ------------------------------------------------------------------ acquire/release, nothing between

    /** @return the permit, from Vigil's {@code tryAcquirePermit()} then {@code complete(permit, SUCCESS, 0)} */
    @Benchmark
    public long vigilTryAcquireComplete() {
        long permit = vigil.tryAcquirePermit();
        if (permit != AdmissionPolicy.REJECTED) {
            vigil.complete(permit, Outcome.SUCCESS, 0L);
        }
        return permit;
    }

    /**
     * resilience4j {@code acquirePermission()} then {@code onComplete()}, as its decorators do.
     *
     * @return the bulkhead, so the call has a result (a refusal throws {@code BulkheadFullException})
     */
    @Benchmark
    public Object resilience4jAcquireOnComplete() {
        r4j.acquirePermission();
        r4j.onComplete();
        return r4j;
    }

    /** @return whether resilience4j's {@code tryAcquirePermission()} admitted; then {@code onComplete()} */
    @Benchmark
    public boolean resilience4jTryAcquireOnComplete() {
        boolean admitted = r4j.tryAcquirePermission();
        if (admitted) {
            r4j.onComplete();
        } else {
            refused.increment();
        }
        return admitted;
    }

    /** @return whether Failsafe's {@code tryAcquirePermit()} admitted; then {@code releasePermit()} */
    @Benchmark
    public boolean failsafeTryAcquireRelease() {
        boolean admitted = failsafe.tryAcquirePermit();
        if (admitted) {
            failsafe.releasePermit();
        } else {
            refused.increment();
        }
        return admitted;
    }

    /** @return whether the non-fair {@code Semaphore.tryAcquire()} admitted; then {@code release()} */
    @Benchmark
    public boolean semaphoreTryAcquireRelease() {
        boolean admitted = semaphore.tryAcquire();
        if (admitted) {
            semaphore.release();
        } else {
            refused.increment();
        }
        return admitted;
    }

    // ------------------------------------------------------------------ around a call, the one-line APIs

    /**
     * Vigil {@code bulkhead.call(callable)}.
     *
     * @return the call's result
     * @throws Exception never: every call is admitted and returns
     */
    @Benchmark
    public Integer vigilCall() throws Exception {
        return vigil.call(callable);
    }

    /**
     * resilience4j {@code executeCallable(callable)}.
     *
     * @return the call's result
     * @throws Exception never: every call is admitted and returns
     */
    @Benchmark
    public Integer resilience4jExecuteCallable() throws Exception {
        return r4j.executeCallable(callable);
    }

    /** @return the call's result, from Failsafe's {@code Failsafe.with(bulkhead).get(supplier)} */
    @Benchmark
    public Integer failsafeGet() {
        return failsafeExecutor.get(checkedSupplier);
    }
}
