package dev.vigil.benchmarks;

import dev.failsafe.CircuitBreakerOpenException;
import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.function.CheckedSupplier;
import dev.vigil.circuitbreaker.CircuitBreaker;
import dev.vigil.core.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowSynchronizationStrategy;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
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
 * The cost of a circuit breaker on its two hot paths: the closed breaker around a call that succeeds
 * (what every call of a healthy service pays), and the open breaker rejecting a call (what every call
 * pays while the dependency is down).
 *
 * <p><b>Closed, success path</b> ({@code closed...}): a breaker that has only ever seen successes, so
 * it admits, runs the call, and records a success in its sliding window. Compares:
 * <ul>
 *   <li>Vigil {@code CircuitBreaker.ofDefaults(name)} (count window of the last 100 calls), through
 *       {@code breaker.call(callable)} ({@link #closedVigilCountWindow}), and the same breaker with a
 *       time window of 60 s in 60 buckets ({@link #closedVigilTimeWindow});</li>
 *   <li>resilience4j {@code CircuitBreaker.ofDefaults(name)} (count-based, 100 calls, its default
 *       {@code SYNCHRONIZED} window: a lock per record) through {@code executeCallable(callable)}
 *       ({@link #closedResilience4jCountWindow}), and time-based, 60 s (its buckets are always 1 s)
 *       ({@link #closedResilience4jTimeWindow});</li>
 *   <li>the same two with {@code slidingWindowSynchronizationStrategy(LOCK_FREE)}, the lock-free
 *       windows resilience4j added in 2.3.0 ({@link #closedResilience4jCountWindowLockFree},
 *       {@link #closedResilience4jTimeWindowLockFree});</li>
 *   <li>Failsafe {@code CircuitBreaker} through {@code Failsafe.with(breaker).get(supplier)}, the
 *       executor built once: count-based, {@code withFailureThreshold(50, 100)}
 *       ({@link #closedFailsafeCountWindow}), and time-based, {@code withFailureRateThreshold(50, 100,
 *       60 s)} ({@link #closedFailsafeTimeWindow}). Failsafe's default ({@code ofDefaults()}) opens on a
 *       single failure out of 1; it is set to 50 failures of the last 100 executions here so that every
 *       library judges the same window, which does not change its success path.</li>
 * </ul>
 * resilience4j reads the clock twice per call on this path (it times every call for its slow-call
 * rate); Vigil measures a call's latency only when a slow-call duration is set, which it is not here.
 *
 * <p><b>Open, rejection path</b> ({@code open...}): a breaker moved to {@code OPEN} by hand in
 * {@link #setUp} (as if it had tripped), with an open duration of one hour so that it stays open for
 * the whole run. Compares:
 * <ul>
 *   <li>Vigil {@code tryAcquirePermit()} returning {@code REJECTED} ({@link #openVigilTryAcquirePermit}):
 *       the allocation-free admission API that an HTTP interceptor or an event loop drives by hand;</li>
 *   <li>Vigil {@code breaker.call(callable)} catching {@link CallNotPermittedException}
 *       ({@link #openVigilCall}): this allocates by design, the exception (stackless) and its message
 *       and retry-after, built by {@code rejection()} for the caller;</li>
 *   <li>resilience4j {@code tryAcquirePermission()} returning false
 *       ({@link #openResilience4jTryAcquirePermission}), and {@code executeSupplier(supplier)} catching
 *       its {@code CallNotPermittedException}, with its default {@code writableStackTraceEnabled(true)}
 *       ({@link #openResilience4jExecute}: fills in a stack trace per rejection) and with
 *       {@code writableStackTraceEnabled(false)} ({@link #openResilience4jExecuteStackless}, the
 *       like-for-like comparison with Vigil's stackless exception);</li>
 *   <li>Failsafe {@code tryAcquirePermit()} returning false ({@link #openFailsafeTryAcquirePermit}),
 *       and {@code Failsafe.with(breaker).get(supplier)} catching its {@code CircuitBreakerOpenException}
 *       ({@link #openFailsafeGet}; it always has a stack trace, Failsafe has no option to drop it).</li>
 * </ul>
 * The breakers' open state checks the clock on every rejected call (to move to half-open when the open
 * duration is up), in all three libraries. The open-path methods return the rejection (or the
 * admission decision) so that the JIT cannot drop it.
 *
 * <p>{@link #baseline} is the same call with no policy; subtract it for the overhead. Every breaker and
 * call object is built once in {@link #setUp} and shared by the benchmark threads, so {@code -t 2}
 * shows contention on one breaker's window and counters. {@link #tearDown} checks that every closed
 * breaker is still closed and every open one still open, so a run cannot silently measure another path.
 *
 * <p>What it shows: Vigil's closed path should cost a volatile read to admit, a classifier check, a
 * striped counter increment and one atomic add on the window's claim counter (the slot already holds
 * a success, so nothing else is written), and allocate 0 B/op; the time window adds to its current
 * bucket instead (finding that bucket is where the two windows differ), plus one bucket object per
 * bucket period, far below 1 B/op. Its {@code tryAcquirePermit} rejection should cost a clock read and
 * a striped counter increment and allocate 0 B/op (Failsafe's reads the clock only: it counts no
 * rejections). Vigil's {@code call} on an open breaker also builds the rejection, so it pays for the
 * exception and for formatting its message. resilience4j's default count window takes a lock per record, so it should slow down at
 * {@code -t 2}; its lock-free windows avoid the lock but append an immutable node (with its
 * aggregation and a snapshot) per record, so they allocate a few hundred bytes per call. Failsafe
 * records under a lock ({@code synchronized}) and allocates an execution per call.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class CircuitBreakerBenchmark {
    /** Long enough that an opened breaker never reaches half-open during a run. */
    private static final Duration OPEN_DURATION = Duration.ofHours(1);
    private static final Duration TIME_WINDOW = Duration.ofSeconds(60);
    private static final int TIME_WINDOW_BUCKETS = 60;
    private static final int WINDOW_SIZE = 100;
    private static final int FAILURE_PERCENT = 50;

    private Callable<Integer> callable;
    private Supplier<Integer> supplier;
    private CheckedSupplier<Integer> checkedSupplier;

    private CircuitBreaker vigilCount;
    private CircuitBreaker vigilTime;
    private CircuitBreaker vigilOpen;

    private io.github.resilience4j.circuitbreaker.CircuitBreaker r4jCount;
    private io.github.resilience4j.circuitbreaker.CircuitBreaker r4jTime;
    private io.github.resilience4j.circuitbreaker.CircuitBreaker r4jCountLockFree;
    private io.github.resilience4j.circuitbreaker.CircuitBreaker r4jTimeLockFree;
    private io.github.resilience4j.circuitbreaker.CircuitBreaker r4jOpen;
    private io.github.resilience4j.circuitbreaker.CircuitBreaker r4jOpenStackless;

    private dev.failsafe.CircuitBreaker<Integer> failsafeCountBreaker;
    private dev.failsafe.CircuitBreaker<Integer> failsafeTimeBreaker;
    private dev.failsafe.CircuitBreaker<Integer> failsafeOpenBreaker;
    private FailsafeExecutor<Integer> failsafeCount;
    private FailsafeExecutor<Integer> failsafeTime;
    private FailsafeExecutor<Integer> failsafeOpen;

    /** Builds breakers and call objects once, outside the measurement, and opens the open-path breakers. */
    @Setup
    public void setUp() {
        Integer value = 42;
        callable = () -> value;
        supplier = () -> value;
        checkedSupplier = () -> value;

        vigilCount = CircuitBreaker.ofDefaults("vigil-count");
        vigilTime = CircuitBreaker.builder().name("vigil-time").timeWindow(TIME_WINDOW, TIME_WINDOW_BUCKETS).build();
        vigilOpen = CircuitBreaker.builder().name("vigil-open").openDuration(OPEN_DURATION).build();
        vigilOpen.transitionToOpen();

        r4jCount = io.github.resilience4j.circuitbreaker.CircuitBreaker.ofDefaults("r4j-count");
        r4jTime = io.github.resilience4j.circuitbreaker.CircuitBreaker.of("r4j-time", CircuitBreakerConfig.custom()
                .slidingWindowType(SlidingWindowType.TIME_BASED)
                .slidingWindowSize((int) TIME_WINDOW.toSeconds())
                .build());
        r4jCountLockFree = io.github.resilience4j.circuitbreaker.CircuitBreaker.of("r4j-count-lock-free", CircuitBreakerConfig.custom()
                .slidingWindowSynchronizationStrategy(SlidingWindowSynchronizationStrategy.LOCK_FREE)
                .build());
        r4jTimeLockFree = io.github.resilience4j.circuitbreaker.CircuitBreaker.of("r4j-time-lock-free", CircuitBreakerConfig.custom()
                .slidingWindowType(SlidingWindowType.TIME_BASED)
                .slidingWindowSize((int) TIME_WINDOW.toSeconds())
                .slidingWindowSynchronizationStrategy(SlidingWindowSynchronizationStrategy.LOCK_FREE)
                .build());
        r4jOpen = io.github.resilience4j.circuitbreaker.CircuitBreaker.of("r4j-open", CircuitBreakerConfig.custom()
                .waitDurationInOpenState(OPEN_DURATION)
                .build());
        r4jOpen.transitionToOpenState();
        r4jOpenStackless = io.github.resilience4j.circuitbreaker.CircuitBreaker.of("r4j-open-stackless", CircuitBreakerConfig.custom()
                .waitDurationInOpenState(OPEN_DURATION)
                .writableStackTraceEnabled(false)
                .build());
        r4jOpenStackless.transitionToOpenState();

        failsafeCountBreaker = dev.failsafe.CircuitBreaker.<Integer>builder()
                .withFailureThreshold(FAILURE_PERCENT, WINDOW_SIZE)
                .build();
        failsafeTimeBreaker = dev.failsafe.CircuitBreaker.<Integer>builder()
                .withFailureRateThreshold(FAILURE_PERCENT, WINDOW_SIZE, TIME_WINDOW)
                .build();
        failsafeOpenBreaker = dev.failsafe.CircuitBreaker.<Integer>builder()
                .withFailureThreshold(FAILURE_PERCENT, WINDOW_SIZE)
                .withDelay(OPEN_DURATION)
                .build();
        failsafeOpenBreaker.open();
        failsafeCount = Failsafe.with(failsafeCountBreaker);
        failsafeTime = Failsafe.with(failsafeTimeBreaker);
        failsafeOpen = Failsafe.with(failsafeOpenBreaker);
    }

    /** Fails the run if a breaker left the state its benchmarks are about. */
    @TearDown(Level.Trial)
    public void tearDown() {
        for (CircuitBreaker closed : new CircuitBreaker[] {vigilCount, vigilTime}) {
            check(closed.state() == CircuitBreaker.State.CLOSED, closed);
        }
        check(vigilOpen.state() == CircuitBreaker.State.OPEN, vigilOpen);
        for (io.github.resilience4j.circuitbreaker.CircuitBreaker closed
                : new io.github.resilience4j.circuitbreaker.CircuitBreaker[] {r4jCount, r4jTime, r4jCountLockFree, r4jTimeLockFree}) {
            check(closed.getState() == io.github.resilience4j.circuitbreaker.CircuitBreaker.State.CLOSED, closed);
        }
        for (io.github.resilience4j.circuitbreaker.CircuitBreaker open
                : new io.github.resilience4j.circuitbreaker.CircuitBreaker[] {r4jOpen, r4jOpenStackless}) {
            check(open.getState() == io.github.resilience4j.circuitbreaker.CircuitBreaker.State.OPEN, open);
        }
        check(failsafeCountBreaker.isClosed(), failsafeCountBreaker);
        check(failsafeTimeBreaker.isClosed(), failsafeTimeBreaker);
        check(failsafeOpenBreaker.isOpen(), failsafeOpenBreaker);
    }

    private static void check(boolean inExpectedState, Object breaker) {
        if (!inExpectedState) {
            throw new IllegalStateException("a breaker changed state during the run, so its benchmark measured another path: " + breaker);
        }
    }

    /**
     * The call with no policy, through the pre-built {@code Callable}.
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer baseline() throws Exception {
        return callable.call();
    }

    // ------------------------------------------------------------------ closed, success path

    /**
     * Vigil {@code breaker.call(callable)}, closed, count window of 100 (the defaults).
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer closedVigilCountWindow() throws Exception {
        return vigilCount.call(callable);
    }

    /**
     * Vigil {@code breaker.call(callable)}, closed, time window of 60 s in 60 buckets.
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer closedVigilTimeWindow() throws Exception {
        return vigilTime.call(callable);
    }

    /**
     * resilience4j {@code executeCallable(callable)}, closed, the defaults (count-based, 100, synchronized).
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer closedResilience4jCountWindow() throws Exception {
        return r4jCount.executeCallable(callable);
    }

    /**
     * resilience4j {@code executeCallable(callable)}, closed, time-based 60 s (synchronized).
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer closedResilience4jTimeWindow() throws Exception {
        return r4jTime.executeCallable(callable);
    }

    /**
     * resilience4j {@code executeCallable(callable)}, closed, count-based 100, {@code LOCK_FREE}.
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer closedResilience4jCountWindowLockFree() throws Exception {
        return r4jCountLockFree.executeCallable(callable);
    }

    /**
     * resilience4j {@code executeCallable(callable)}, closed, time-based 60 s, {@code LOCK_FREE}.
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer closedResilience4jTimeWindowLockFree() throws Exception {
        return r4jTimeLockFree.executeCallable(callable);
    }

    /**
     * Failsafe {@code Failsafe.with(breaker).get(supplier)}, closed, count-based (50 failures of 100).
     *
     * @return the call's result
     */
    @Benchmark
    public Integer closedFailsafeCountWindow() {
        return failsafeCount.get(checkedSupplier);
    }

    /**
     * Failsafe {@code Failsafe.with(breaker).get(supplier)}, closed, time-based (50% of at least 100 in 60 s).
     *
     * @return the call's result
     */
    @Benchmark
    public Integer closedFailsafeTimeWindow() {
        return failsafeTime.get(checkedSupplier);
    }

    // ------------------------------------------------------------------ open, rejection path

    /** @return {@code AdmissionPolicy.REJECTED}, from Vigil's allocation-free admission API on an open breaker */
    @Benchmark
    public long openVigilTryAcquirePermit() {
        return vigilOpen.tryAcquirePermit();
    }

    /**
     * @return the {@link CallNotPermittedException} Vigil's {@code breaker.call(callable)} threw (allocated
     *         per rejection by design: stackless, with its message and retry-after)
     * @throws Exception never: the breaker rejects every call
     */
    @Benchmark
    public Object openVigilCall() throws Exception {
        try {
            return vigilOpen.call(callable);
        } catch (CallNotPermittedException rejected) {
            return rejected;
        }
    }

    /** @return false, from resilience4j's {@code tryAcquirePermission()} on an open breaker */
    @Benchmark
    public boolean openResilience4jTryAcquirePermission() {
        return r4jOpen.tryAcquirePermission();
    }

    /**
     * @return the {@code CallNotPermittedException} resilience4j's {@code executeSupplier(supplier)} threw,
     *         with a stack trace (resilience4j's default)
     */
    @Benchmark
    public Object openResilience4jExecute() {
        try {
            return r4jOpen.executeSupplier(supplier);
        } catch (io.github.resilience4j.circuitbreaker.CallNotPermittedException rejected) {
            return rejected;
        }
    }

    /**
     * @return the {@code CallNotPermittedException} resilience4j's {@code executeSupplier(supplier)} threw,
     *         stackless ({@code writableStackTraceEnabled(false)})
     */
    @Benchmark
    public Object openResilience4jExecuteStackless() {
        try {
            return r4jOpenStackless.executeSupplier(supplier);
        } catch (io.github.resilience4j.circuitbreaker.CallNotPermittedException rejected) {
            return rejected;
        }
    }

    /** @return false, from Failsafe's {@code tryAcquirePermit()} on an open breaker */
    @Benchmark
    public boolean openFailsafeTryAcquirePermit() {
        return failsafeOpenBreaker.tryAcquirePermit();
    }

    /** @return the {@code CircuitBreakerOpenException} Failsafe's {@code get(supplier)} threw (with a stack trace) */
    @Benchmark
    public Object openFailsafeGet() {
        try {
            return failsafeOpen.get(checkedSupplier);
        } catch (CircuitBreakerOpenException rejected) {
            return rejected;
        }
    }
}
