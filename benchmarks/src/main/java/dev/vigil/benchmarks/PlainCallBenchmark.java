package dev.vigil.benchmarks;

import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.CompilerControl;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The baseline: what a call costs with no policy around it, so every other number in the suite has a
 * reference point.
 *
 * <p>Compares three ways of making the same tiny call (read a field and return it): a direct method
 * call the JIT may inline ({@link #direct}), the same method kept out of line ({@link #directNotInlined},
 * the floor for a real, non-inlined dependency call), and the call through the pre-built
 * {@link Callable} and {@link Supplier} fields that the policy benchmarks hand to their policies
 * ({@link #callable}, {@link #supplier}). A policy's overhead is its ns/op minus the matching baseline
 * here; every baseline allocates 0 B/op, so any {@code gc.alloc.rate.norm} above zero elsewhere is the
 * policy's own.
 *
 * <p>The state is shared ({@link Scope#Benchmark}) and only read, so running with {@code -t 2} or
 * {@code -t 4} shows the machine's scaling floor, with no contention.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class PlainCallBenchmark {

    /** Not final, so the JIT cannot fold the result into a constant. */
    private int value;
    private Callable<Integer> callable;
    private Supplier<Integer> supplier;

    /** Builds the call objects once, outside the measurement. */
    @Setup
    public void setUp() {
        value = 42;
        Integer boxed = 42;
        callable = () -> boxed;
        supplier = () -> boxed;
    }

    private int work() {
        return value;
    }

    @CompilerControl(CompilerControl.Mode.DONT_INLINE)
    private int workNotInlined() {
        return value;
    }

    /** @return the value, through a method the JIT will inline */
    @Benchmark
    public int direct() {
        return work();
    }

    /** @return the value, through a method kept out of line */
    @Benchmark
    public int directNotInlined() {
        return workNotInlined();
    }

    /**
     * @return the value, through the pre-built {@link Callable}
     * @throws Exception never
     */
    @Benchmark
    public Integer callable() throws Exception {
        return callable.call();
    }

    /** @return the value, through the pre-built {@link Supplier} */
    @Benchmark
    public Integer supplier() {
        return supplier.get();
    }
}
