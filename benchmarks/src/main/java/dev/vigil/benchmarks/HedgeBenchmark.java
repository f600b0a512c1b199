package dev.vigil.benchmarks;

import dev.vigil.core.Hedge;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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
 * The cost of a hedge when no hedge is needed: an asynchronous call that answers well before the hedge
 * delay (1 s, one hedge at most), so only the first attempt runs. Neither peer hedges (resilience4j
 * 2.4.0 and Failsafe 3.3.2 have no hedging policy), so Vigil's {@link Hedge} is compared with the same
 * call and no policy.
 *
 * <p>Compares:
 * <ul>
 *   <li>{@link #baselineCompleted} and {@link #vigilCompleted}: the call returns an already-completed
 *       stage, so the hedge sees the winner before it would arm its timer and arms none;</li>
 *   <li>{@link #baselinePending} and {@link #vigilPending}: the call returns a stage that is still
 *       pending and is completed right after (the usual case for real I/O), so the hedge arms its 1 s
 *       timer on the shared scheduler and cancels it when the attempt wins: the cost to compare.</li>
 * </ul>
 * Every variant joins the returned stage and includes the call's own {@code CompletableFuture} (the
 * baselines' B/op); {@link #vigilPending} also builds its capturing {@code () -> pending} supplier per call
 * (16 B), as {@code TimeoutBenchmark}'s pending variants do.
 *
 * <p>What it shows: the asynchronous path allocates by nature (Vigil's javadoc: a future and two small
 * arrays per call, plus the attempt context and the completion callback on the attempt's stage, plus a
 * timer entry when one is armed), so the B/op column is measured, not expected to be zero. Per-call time
 * at {@code -t 2}/{@code -t 4} shows how the counters and the scheduler cope with concurrent calls.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class HedgeBenchmark {
    private static final Integer VALUE = 42;

    private Supplier<CompletionStage<Integer>> completedCall;
    private Hedge vigil;

    /** Builds the policy and call objects once, outside the measurement. */
    @Setup
    public void setUp() {
        Integer value = VALUE;
        completedCall = () -> CompletableFuture.completedFuture(value);
        vigil = Hedge.builder()
                .idempotent(true)
                .delay(Duration.ofSeconds(1))
                .maxHedges(1)
                .build();
    }

    /**
     * The async call with no policy, its stage already completed.
     *
     * @return the call's result
     */
    @Benchmark
    public Integer baselineCompleted() {
        return completedCall.get().toCompletableFuture().join();
    }

    /**
     * Vigil {@code hedge.callAsync(call)}, the attempt's stage already completed (no timer armed).
     *
     * @return the call's result
     */
    @Benchmark
    public Integer vigilCompleted() {
        return vigil.callAsync(completedCall).toCompletableFuture().join();
    }

    /**
     * The async call with no policy, its stage completed after it is returned.
     *
     * @return the call's result
     */
    @Benchmark
    public Integer baselinePending() {
        CompletableFuture<Integer> pending = new CompletableFuture<>();
        pending.complete(VALUE);
        return pending.join();
    }

    /**
     * Vigil {@code hedge.callAsync(call)}, the attempt's stage completed after the hedge armed its 1 s timer.
     *
     * @return the call's result
     */
    @Benchmark
    public Integer vigilPending() {
        CompletableFuture<Integer> pending = new CompletableFuture<>();
        CompletableFuture<Integer> result = vigil.callAsync(() -> pending).toCompletableFuture();
        pending.complete(VALUE);
        return result.join();
    }
}
