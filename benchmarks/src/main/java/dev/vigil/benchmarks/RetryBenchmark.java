package dev.vigil.benchmarks;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.RetryPolicy;
import dev.failsafe.function.CheckedSupplier;
import dev.vigil.core.Retry;
import dev.vigil.core.RetryBudget;
import io.github.resilience4j.retry.RetryConfig;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of a retry on its healthy path: a synchronous call whose first attempt succeeds, so the
 * retry only watches (no back-off, no second attempt). This is what a retry costs on every call of a
 * healthy service.
 *
 * <p>Compares, all with at most 3 attempts:
 * <ul>
 *   <li>Vigil {@code Retry.of(3)} (default back-off, which this path never consults), through
 *       {@code retry.call(callable)} ({@link #vigilCall}) and through a {@code decorateCallable(callable)}
 *       built once ({@link #vigilDecorated});</li>
 *   <li>the same retry with a shared {@code RetryBudget.tokenBucket()} attached ({@link #vigilWithBudget}:
 *       the budget hears {@code onCall} and {@code onSuccess}; the bucket stays full, so the success only
 *       reads its word);</li>
 *   <li>the same retry with a {@code maxDuration} of 10 s ({@link #vigilWithMaxDuration}: the call reads
 *       the clock and runs inside a {@code Deadline} that the code inside could read, entered and left
 *       on a thread-local);</li>
 *   <li>resilience4j {@code Retry} ({@code RetryConfig.custom().maxAttempts(3)}), through
 *       {@code executeCallable(callable)} ({@link #resilience4jExecuteCallable}) and through
 *       {@code Retry.decorateCallable(retry, callable)} built once ({@link #resilience4jDecorated});</li>
 *   <li>Failsafe {@code RetryPolicy.builder().withMaxAttempts(3)}, through
 *       {@code Failsafe.with(policy).get(supplier)}, the executor built once ({@link #failsafeGet}).</li>
 * </ul>
 * {@link #baseline} is the same call with no policy; subtract it for the overhead. Every policy and call
 * object is built once in {@link #setUp}, and every peer keeps its documented defaults but the attempt
 * count. The policies are shared by the benchmark threads.
 *
 * <p>What it shows: Vigil's success path should cost a classifier check, a thread-local attempt context
 * set and restored, and a striped counter increment, and allocate 0 B/op with and without the budget
 * (the token bucket is allocation-free and, full, is only read). With {@code maxDuration} the call also
 * reads the clock and allocates its {@code Deadline} (one small object per call; it escapes into the
 * thread-local, so the JIT cannot remove it). resilience4j builds a retry context per call, Failsafe an
 * execution and its bookkeeping per call, so both allocate. Per-call numbers should stay about flat at
 * {@code -t 2} (the counters are {@code LongAdder}s; the budget is read, not written).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class RetryBenchmark {
    private static final int MAX_ATTEMPTS = 3;

    private Callable<Integer> callable;
    private CheckedSupplier<Integer> checkedSupplier;

    private Retry vigil;
    private Callable<Integer> vigilDecorated;
    private Retry vigilWithBudget;
    private Retry vigilWithMaxDuration;

    private io.github.resilience4j.retry.Retry r4j;
    private Callable<Integer> r4jDecorated;

    private FailsafeExecutor<Integer> failsafe;

    /** Builds policies and call objects once, outside the measurement. */
    @Setup
    public void setUp() {
        Integer value = 42;
        callable = () -> value;
        checkedSupplier = () -> value;

        vigil = Retry.of(MAX_ATTEMPTS);
        vigilDecorated = vigil.decorateCallable(callable);
        vigilWithBudget = Retry.builder()
                .maxAttempts(MAX_ATTEMPTS)
                .budget(RetryBudget.tokenBucket().build())
                .build();
        vigilWithMaxDuration = Retry.builder()
                .maxAttempts(MAX_ATTEMPTS)
                .maxDuration(Duration.ofSeconds(10))
                .build();

        r4j = io.github.resilience4j.retry.Retry.of("r4j", RetryConfig.custom().maxAttempts(MAX_ATTEMPTS).build());
        r4jDecorated = io.github.resilience4j.retry.Retry.decorateCallable(r4j, callable);

        failsafe = Failsafe.with(RetryPolicy.<Integer>builder().withMaxAttempts(MAX_ATTEMPTS).build());
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

    /**
     * Vigil {@code retry.call(callable)}, first attempt succeeding: no budget, no deadline.
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer vigilCall() throws Exception {
        return vigil.call(callable);
    }

    /**
     * Vigil, the same retry through a {@code decorateCallable(callable)} built once.
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer vigilDecorated() throws Exception {
        return vigilDecorated.call();
    }

    /**
     * Vigil {@code retry.call(callable)} with a shared token-bucket budget (kept full by the successes).
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer vigilWithBudget() throws Exception {
        return vigilWithBudget.call(callable);
    }

    /**
     * Vigil {@code retry.call(callable)} with {@code maxDuration(10 s)}: clock read and a {@code Deadline} per call.
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer vigilWithMaxDuration() throws Exception {
        return vigilWithMaxDuration.call(callable);
    }

    /**
     * resilience4j {@code retry.executeCallable(callable)}, first attempt succeeding.
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer resilience4jExecuteCallable() throws Exception {
        return r4j.executeCallable(callable);
    }

    /**
     * resilience4j, the same retry through a {@code Retry.decorateCallable(retry, callable)} built once.
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer resilience4jDecorated() throws Exception {
        return r4jDecorated.call();
    }

    /**
     * Failsafe {@code Failsafe.with(retryPolicy).get(supplier)}, first attempt succeeding.
     *
     * @return the call's result
     */
    @Benchmark
    public Integer failsafeGet() {
        return failsafe.get(checkedSupplier);
    }
}
