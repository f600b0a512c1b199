package dev.vigil.benchmarks;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.function.CheckedSupplier;
import dev.vigil.core.Fallback;
import io.github.resilience4j.decorators.Decorators;
import java.util.concurrent.Callable;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of a fallback to a fixed value, on both of its paths: the call succeeds (the fallback
 * only watches), and the call throws (the fallback replaces the failure with its value).
 *
 * <p>Compares Vigil's {@code Fallback.ofValue(value).call(callable)} with Failsafe's
 * {@code Failsafe.with(Fallback.of(value)).get(supplier)} and resilience4j's
 * {@code Decorators.ofSupplier(supplier).withFallback(throwable -> value)} (from
 * {@code resilience4j-all}; decorated once in {@link #setUp}, then called). The failing call throws
 * one pre-allocated, stackless exception, so the fallback path measures the policies' handling, not
 * the cost of creating and filling in an exception. Every policy and call object is built once.
 *
 * <p>What it shows: the success path of Vigil's fallback should cost a classifier check and a striped
 * counter increment and allocate 0 B/op; the fallback path hands the replacement function a small
 * {@code Failure} object, so a few bytes per replaced call are expected there. Per-call numbers should
 * stay flat at {@code -t 2} and {@code -t 4} (the counters are {@code LongAdder}s).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class FallbackBenchmark {
    private static final String RESULT = "result";
    private static final String REPLACEMENT = "fallback";

    /** Thrown by every failing call: one instance, no stack trace, no suppression list. */
    private static final class StacklessFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StacklessFailure() {
            super("simulated failure", null, false, false);
        }
    }

    private static final StacklessFailure FAILURE = new StacklessFailure();

    private Fallback<String> vigil;
    private Callable<String> succeeding;
    private Callable<String> failing;

    private FailsafeExecutor<String> failsafe;
    private CheckedSupplier<String> failsafeSucceeding;
    private CheckedSupplier<String> failsafeFailing;

    private Supplier<String> resilience4jSucceeding;
    private Supplier<String> resilience4jFailing;

    /** Builds policies and call objects once, outside the measurement. */
    @Setup
    public void setUp() {
        succeeding = () -> RESULT;
        failing = () -> {
            throw FAILURE;
        };
        vigil = Fallback.ofValue(REPLACEMENT);

        failsafe = Failsafe.with(dev.failsafe.Fallback.of(REPLACEMENT));
        failsafeSucceeding = () -> RESULT;
        failsafeFailing = () -> {
            throw FAILURE;
        };

        Supplier<String> plainSucceeding = () -> RESULT;
        Supplier<String> plainFailing = () -> {
            throw FAILURE;
        };
        resilience4jSucceeding = Decorators.ofSupplier(plainSucceeding)
                .withFallback((Throwable failure) -> REPLACEMENT)
                .decorate();
        resilience4jFailing = Decorators.ofSupplier(plainFailing)
                .withFallback((Throwable failure) -> REPLACEMENT)
                .decorate();
    }

    /**
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public String vigilSuccess() throws Exception {
        return vigil.call(succeeding);
    }

    /**
     * @return the replacement
     * @throws Exception never
     */
    @Benchmark
    public String vigilFallback() throws Exception {
        return vigil.call(failing);
    }

    /** @return the call's result */
    @Benchmark
    public String failsafeSuccess() {
        return failsafe.get(failsafeSucceeding);
    }

    /** @return the replacement */
    @Benchmark
    public String failsafeFallback() {
        return failsafe.get(failsafeFailing);
    }

    /** @return the call's result */
    @Benchmark
    public String resilience4jSuccess() {
        return resilience4jSucceeding.get();
    }

    /** @return the replacement */
    @Benchmark
    public String resilience4jFallback() {
        return resilience4jFailing.get();
    }
}
