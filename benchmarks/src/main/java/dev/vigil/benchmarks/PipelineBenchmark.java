package dev.vigil.benchmarks;

import dev.vigil.core.Pipeline;
import dev.vigil.core.Policy;
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
 * What Vigil's composition machinery costs by itself: four {@link NoOpAdmission} policies (admit
 * everything, count nothing), so the numbers are pure driver overhead on the sync success path.
 *
 * <p>Compares:
 * <ul>
 *   <li>{@link #singlePolicy}: one admission policy's {@code call(callable)};</li>
 *   <li>{@link #pipelineCall}: {@code Pipeline.of(p1, p2, p3, p4).call(callable)}, where the pipeline
 *       drives the permit protocol of all four in one frame chain;</li>
 *   <li>{@link #nestedByHand}: the same four nested by hand,
 *       {@code p1.call(() -> p2.call(() -> p3.call(() -> p4.call(callable))))}, with the lambdas built
 *       once in {@link #setUp}, so it measures nesting, not lambda allocation;</li>
 *   <li>{@link #pipelineGet} and {@link #pipelineDecoratedSupplier}: the pipeline reached through
 *       {@code get(supplier)} and through a {@code decorateSupplier(supplier)} built once.</li>
 * </ul>
 * Subtract {@link PlainCallBenchmark#callable} for the overhead. What it should show: the pipeline
 * costs no more than nesting by hand, every form allocates 0 B/op ({@code gc.alloc.rate.norm} under
 * {@code -prof gc}) as the design's hot-path rules require, and, the policies being shared and
 * stateless, the per-call time stays flat at {@code -t 2} and {@code -t 4}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class PipelineBenchmark {

    private Policy single;
    private Policy pipeline;
    private Policy outermost;
    private Callable<Integer> nested;
    private Callable<Integer> callable;
    private Supplier<Integer> supplier;
    private Supplier<Integer> decorated;

    /** Builds policies, pipeline and call objects once, outside the measurement. */
    @Setup
    public void setUp() {
        Integer value = 42;
        callable = () -> value;
        supplier = () -> value;

        single = new NoOpAdmission("single");

        NoOpAdmission p1 = new NoOpAdmission("p1");
        NoOpAdmission p2 = new NoOpAdmission("p2");
        NoOpAdmission p3 = new NoOpAdmission("p3");
        NoOpAdmission p4 = new NoOpAdmission("p4");
        pipeline = Pipeline.of(p1, p2, p3, p4);
        decorated = pipeline.decorateSupplier(supplier);

        NoOpAdmission h1 = new NoOpAdmission("h1");
        NoOpAdmission h2 = new NoOpAdmission("h2");
        NoOpAdmission h3 = new NoOpAdmission("h3");
        NoOpAdmission h4 = new NoOpAdmission("h4");
        Callable<Integer> inner = callable;
        Callable<Integer> level3 = () -> h4.call(inner);
        Callable<Integer> level2 = () -> h3.call(level3);
        nested = () -> h2.call(level2);
        outermost = h1;
    }

    /**
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer singlePolicy() throws Exception {
        return single.call(callable);
    }

    /**
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer pipelineCall() throws Exception {
        return pipeline.call(callable);
    }

    /**
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer nestedByHand() throws Exception {
        return outermost.call(nested);
    }

    /** @return the call's result */
    @Benchmark
    public Integer pipelineGet() {
        return pipeline.get(supplier);
    }

    /** @return the call's result */
    @Benchmark
    public Integer pipelineDecoratedSupplier() {
        return decorated.get();
    }
}
