package dev.vigil.benchmarks;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.function.CheckedSupplier;
import dev.vigil.core.Timeout;
import io.github.resilience4j.timelimiter.TimeLimiter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of putting a time limit on a call that finishes well within it (a 1 s limit that never
 * fires): the success path of Vigil's {@link Timeout} beside resilience4j's {@link TimeLimiter} and
 * Failsafe's {@code Timeout}, synchronous and asynchronous.
 *
 * <p>Compares:
 * <ul>
 *   <li>sync: Vigil {@code timeout.call(callable)}, which arms a deadline on the shared timing-wheel
 *       scheduler and disarms it when the call returns; resilience4j
 *       {@code executeFutureSupplier(() -> completedFuture(x))}, which only bounds the wait on a future
 *       the caller already started (it schedules nothing, and cannot bound synchronous code, so it is
 *       the cheap end of the comparison, not an equivalent); Failsafe
 *       {@code Failsafe.with(timeout).get(supplier)}, which schedules a timeout task per call;</li>
 *   <li>async, joined at once: Vigil {@code timeout.callAsync(() -> completedFuture(x))}; resilience4j
 *       {@code executeCompletionStage(scheduler, supplier)} on a single-thread
 *       {@link ScheduledThreadPoolExecutor} (with remove-on-cancel, so cancelled timers do not pile up
 *       in its queue for a second); Failsafe {@code getStageAsync(() -> completedFuture(x))}, which
 *       runs the supplier on its own executor (the common pool, or a Failsafe pool of 2 threads on
 *       machines where the common pool has a single thread).</li>
 * </ul>
 * The {@code ...AsyncPending} variants hand the policy a stage that is still pending and complete it
 * afterwards, so every library arms and disarms a timer (with an already-completed stage Vigil arms
 * none, which flatters {@link #vigilAsync}; compare the pending variants).
 * {@link #baselineSync} and {@link #baselineAsync} are the same calls with no policy; subtract them for
 * the overhead. Every async variant includes the supplier's own {@code CompletableFuture}
 * ({@code baselineAsync}'s B/op). What it shows: the per-call time and bytes of arming and disarming a
 * timer, and (at {@code -t 2}/{@code -t 4}) how each scheduler copes with concurrent scheduling; a
 * timeout allocates by nature (Vigil's javadoc: a deadline object and a scheduler entry per call), so
 * the B/op column is compared, not expected to be zero.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class TimeoutBenchmark {
    private static final Integer VALUE = 42;
    private static final Duration LIMIT = Duration.ofSeconds(1);

    private Callable<Integer> callable;
    private CheckedSupplier<Integer> checkedCall;
    private CheckedSupplier<CompletionStage<Integer>> checkedAsyncCall;
    private Supplier<CompletionStage<Integer>> asyncCall;
    private Supplier<CompletableFuture<Integer>> futureCall;

    private Timeout vigil;
    private TimeLimiter r4j;
    private ScheduledThreadPoolExecutor r4jScheduler;
    private FailsafeExecutor<Integer> failsafe;

    /** Builds policies, executors and call objects once, outside the measurement. */
    @Setup
    public void setUp() {
        Integer value = VALUE;
        callable = () -> value;
        checkedCall = () -> value;
        checkedAsyncCall = () -> CompletableFuture.completedFuture(value);
        asyncCall = () -> CompletableFuture.completedFuture(value);
        futureCall = () -> CompletableFuture.completedFuture(value);

        vigil = Timeout.of(LIMIT);
        r4j = TimeLimiter.of(LIMIT);
        r4jScheduler = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "r4j-timelimiter-scheduler");
            thread.setDaemon(true);
            return thread;
        });
        r4jScheduler.setRemoveOnCancelPolicy(true);
        failsafe = Failsafe.with(dev.failsafe.Timeout.<Integer>of(LIMIT));
    }

    /**
     * Stops the resilience4j scheduler. (Vigil's shared scheduler and Failsafe's internal ones are
     * daemon threads owned by the libraries.)
     *
     * @throws InterruptedException if interrupted while waiting for the executor to stop
     */
    @TearDown
    public void tearDown() throws InterruptedException {
        r4jScheduler.shutdownNow();
        r4jScheduler.awaitTermination(5, TimeUnit.SECONDS);
    }

    /**
     * @return the call's result, with no policy
     * @throws Exception never
     */
    @Benchmark
    public Integer baselineSync() throws Exception {
        return callable.call();
    }

    /** @return the async call's result, with no policy */
    @Benchmark
    public Integer baselineAsync() {
        return asyncCall.get().toCompletableFuture().join();
    }

    /**
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer vigilSync() throws Exception {
        return vigil.call(callable);
    }

    /** @return the call's result */
    @Benchmark
    public Integer vigilAsync() {
        return vigil.callAsync(asyncCall).toCompletableFuture().join();
    }

    /**
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer resilience4jSync() throws Exception {
        return r4j.executeFutureSupplier(futureCall);
    }

    /** @return the call's result */
    @Benchmark
    public Integer resilience4jAsync() {
        return r4j.executeCompletionStage(r4jScheduler, asyncCall).toCompletableFuture().join();
    }

    /**
     * The async call's stage is still pending when the timeout sees it (the usual case for real I/O),
     * so a timer is armed and then disarmed when the stage completes: the async cost to compare.
     *
     * @return the call's result
     */
    @Benchmark
    public Integer baselineAsyncPending() {
        CompletableFuture<Integer> pending = new CompletableFuture<>();
        pending.complete(VALUE);
        return pending.join();
    }

    /** @return the call's result, with a timer armed and disarmed (see {@link #baselineAsyncPending}) */
    @Benchmark
    public Integer vigilAsyncPending() {
        CompletableFuture<Integer> pending = new CompletableFuture<>();
        CompletableFuture<Integer> result = vigil.callAsync(() -> pending).toCompletableFuture();
        pending.complete(VALUE);
        return result.join();
    }

    /** @return the call's result, with a timer armed and disarmed (see {@link #baselineAsyncPending}) */
    @Benchmark
    public Integer resilience4jAsyncPending() {
        CompletableFuture<Integer> pending = new CompletableFuture<>();
        CompletableFuture<Integer> result = r4j.executeCompletionStage(r4jScheduler, () -> pending).toCompletableFuture();
        pending.complete(VALUE);
        return result.join();
    }

    /** @return the call's result */
    @Benchmark
    public Integer failsafeSync() {
        return failsafe.get(checkedCall);
    }

    /** @return the call's result */
    @Benchmark
    public Integer failsafeAsync() {
        return failsafe.getStageAsync(checkedAsyncCall).join();
    }
}
