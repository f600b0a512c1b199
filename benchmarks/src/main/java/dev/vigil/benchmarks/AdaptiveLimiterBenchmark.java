package dev.vigil.benchmarks;

import com.netflix.concurrency.limits.Limit;
import com.netflix.concurrency.limits.Limiter;
import com.netflix.concurrency.limits.limit.AIMDLimit;
import com.netflix.concurrency.limits.limiter.SimpleLimiter;
import dev.vigil.bulkhead.AdaptiveLimiter;
import dev.vigil.bulkhead.AimdLimit;
import dev.vigil.bulkhead.Criticality;
import dev.vigil.bulkhead.Gradient2Limit;
import dev.vigil.bulkhead.LimitAlgorithm;
import dev.vigil.bulkhead.VegasLimit;
import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Outcome;
import dev.vigil.core.time.Ticker;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
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
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * The cost of an adaptive concurrency limiter on its hot path, admitting a call and recording its
 * latency sample, beside Netflix concurrency-limits 0.5.4's {@code SimpleLimiter} running the same
 * algorithm. The call itself is empty; what is measured is admission, completion and the sample.
 *
 * <p><b>How each side is called</b>, as a caller (or a pipeline driver) uses it:
 * <ul>
 *   <li>Vigil {@link AdaptiveLimiter}, through its allocation-free admission protocol:
 *       {@code long permit = limiter.tryAcquirePermit(); ...; limiter.complete(permit, Outcome.SUCCESS, 0)}.
 *       The limiter measures latency itself, for one admitted call in 8 (its default
 *       {@code sampleEvery}): it reads its ticker ({@code System.nanoTime()}) at that call's admission and
 *       completion. The caller reads no clock ({@code measuresLatency()} is false, so a pipeline driver
 *       does not either).</li>
 *   <li>concurrency-limits {@code SimpleLimiter.newBuilder().limit(algorithm).build()}:
 *       {@code Optional<Listener> listener = limiter.acquire(null)}, then
 *       {@code listener.get().onSuccess()}. The limiter reads its clock ({@code System::nanoTime} by
 *       default) twice per call, once in {@code acquire} and once in {@code onSuccess}, and runs its
 *       algorithm on every sample.</li>
 * </ul>
 * So concurrency-limits reads {@code System.nanoTime()} twice per call and Vigil twice per 8 calls:
 * sampling is part of Vigil's design, measured here, not a setting changed for the benchmark.
 * {@link #baselineTwoClockReads} measures two reads alone, for scale. {@link #vegasVigilCall} is the
 * one-line Vigil API, {@code limiter.call(callable)} around a call returning a boxed constant, which also
 * classifies the result.
 *
 * <p><b>The same algorithm on both sides, the same bounds</b>: Vegas ({@code vegas...}), Gradient2
 * ({@code gradient2...}) and AIMD ({@code aimd...}), each with an initial limit of 1000, a maximum of
 * 1000 and a minimum of 20 (concurrency-limits' Vegas has no minimum setting: its floor is 1), their
 * other parameters at each library's defaults (which agree: Vegas smoothing 1 and probe multiplier 30,
 * Gradient2 tolerance 1.5, smoothing 0.2, queue size 4, long window 600, AIMD backoff 0.9 and +1 per
 * step; concurrency-limits' AIMD also counts a sample over 5 s as a drop, which never happens here). The high limits
 * keep every call admitted at 1, 2 and 4 threads, so the rejection path is not measured: neither
 * library moves a limit that is less than half used (Vigil lowers it then only for a window with a
 * drop, and there are none here), and even at the minimum of 20 a DEFAULT call may use
 * {@code ceil(0.9 x 20) = 18} slots, far above 4 threads.
 *
 * <p><b>Where the algorithm runs</b>, a structural difference measured here, not a setting:
 * concurrency-limits runs its algorithm on every sample, inside {@code AbstractLimit.onSample}, a
 * {@code synchronized} method (one monitor per limiter, taken by every completion). Vigil adds each
 * sample to the calling thread's stripe of its sample window and runs the algorithm once per window
 * (10 sampled calls, the default, so 80 calls), on the one thread that closes it, without blocking the others.
 *
 * <p>Every limiter and call object is built once in {@link #setUp} and shared by the benchmark threads
 * ({@code Scope.Benchmark}), so {@code -t 2} and {@code -t 4} show contention on one limiter. Each
 * method returns the permit (or whether the call was admitted) so that the JIT cannot drop it.
 * {@link #tearDown} checks the run did what it claims: no call was shed (Vigil's {@code shedCount} for
 * every criticality; concurrency-limits' refusals, an empty {@code Optional}, counted here on that cold
 * branch), every permit was given back (in flight is 0 on every limiter), and each Vigil limiter that ran
 * recorded successes, at least a sample window's worth (so its algorithm ran), and every limiter kept
 * its limit within its bounds.
 *
 * <p>What it shows: far from the caps (as here), Vigil admits by taking a slot parked on the calling
 * thread's own stripe and completes by parking it there again (one CAS each on the thread's own cache
 * line; the first call of a thread takes its slot from the shared word holding the limit and the
 * count) and adds to a striped counter; one call in 8 also reads the clock twice
 * and adds to the thread's own sample cell; it should allocate 0 B/op. concurrency-limits admits through a non-fair
 * {@code Semaphore} and an {@code AtomicInteger} (both shared words), allocates two listener objects
 * and an {@code Optional} per call (the JIT may scalar-replace some of them), and on completion takes
 * the algorithm's monitor: at 2 threads and more the shared words and the monitor are contended.
 * Gradient2 on concurrency-limits' side also passes each latency through its long-term average as a
 * boxed {@code Number}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class AdaptiveLimiterBenchmark {
    private static final int INITIAL_LIMIT = 1000;
    private static final int MAX_LIMIT = 1000;
    private static final int MIN_LIMIT = 20;
    /** Vigil's default sample window, in samples. */
    private static final int SAMPLE_WINDOW = 10;

    private Callable<Integer> callable;
    private Ticker ticker;

    private AdaptiveLimiter vigilVegas;
    private AdaptiveLimiter vigilGradient2;
    private AdaptiveLimiter vigilAimd;

    private SimpleLimiter<Void> netflixVegas;
    private SimpleLimiter<Void> netflixGradient2;
    private SimpleLimiter<Void> netflixAimd;

    /** Calls concurrency-limits refused (Vigil counts its own). */
    private final LongAdder refused = new LongAdder();

    /** Builds the limiters and the call once, outside the measurement. */
    @Setup
    public void setUp() {
        Integer value = 42;
        callable = () -> value;

        vigilVegas = vigil("vigil-vegas", VegasLimit.builder()
                .initialLimit(INITIAL_LIMIT).minLimit(MIN_LIMIT).maxLimit(MAX_LIMIT).build());
        vigilGradient2 = vigil("vigil-gradient2", Gradient2Limit.builder()
                .initialLimit(INITIAL_LIMIT).minLimit(MIN_LIMIT).maxLimit(MAX_LIMIT).build());
        vigilAimd = vigil("vigil-aimd", AimdLimit.builder()
                .initialLimit(INITIAL_LIMIT).minLimit(MIN_LIMIT).maxLimit(MAX_LIMIT).build());
        ticker = vigilVegas.ticker();

        netflixVegas = netflix(com.netflix.concurrency.limits.limit.VegasLimit.newBuilder()
                .initialLimit(INITIAL_LIMIT).maxConcurrency(MAX_LIMIT).build());
        netflixGradient2 = netflix(com.netflix.concurrency.limits.limit.Gradient2Limit.newBuilder()
                .initialLimit(INITIAL_LIMIT).minLimit(MIN_LIMIT).maxConcurrency(MAX_LIMIT).build());
        netflixAimd = netflix(AIMDLimit.newBuilder()
                .initialLimit(INITIAL_LIMIT).minLimit(MIN_LIMIT).maxLimit(MAX_LIMIT).build());
    }

    private static AdaptiveLimiter vigil(String name, LimitAlgorithm algorithm) {
        return AdaptiveLimiter.builder().name(name).algorithm(algorithm).sampleWindow(SAMPLE_WINDOW).build();
    }

    private static SimpleLimiter<Void> netflix(Limit limit) {
        return SimpleLimiter.newBuilder().limit(limit).build();
    }

    /**
     * Fails the run if a call was shed, a permit leaked, a limiter left its bounds, or the Vigil limiter
     * the benchmark drove did not record successes.
     *
     * @param params names the benchmark that ran (each runs with its own state)
     */
    @TearDown(Level.Trial)
    public void tearDown(BenchmarkParams params) {
        String benchmark = params.getBenchmark();
        AdaptiveLimiter used = benchmark.endsWith(".vegasVigil") || benchmark.endsWith(".vegasVigilCall") ? vigilVegas
                : benchmark.endsWith(".gradient2Vigil") ? vigilGradient2
                : benchmark.endsWith(".aimdVigil") ? vigilAimd
                : null;
        if (used != null) {
            check(used.successCount() >= SAMPLE_WINDOW, used + " recorded " + used.successCount()
                    + " successes in the whole run, not even one sample window");
        }
        for (AdaptiveLimiter limiter : new AdaptiveLimiter[] {vigilVegas, vigilGradient2, vigilAimd}) {
            for (Criticality criticality : Criticality.values()) {
                if (limiter.shedCount(criticality) != 0) {
                    throw new IllegalStateException(limiter + " shed " + limiter.shedCount(criticality) + " " + criticality
                            + " calls, so the benchmark did not measure the admission path alone");
                }
            }
            check(limiter.inFlight() == 0, limiter + " has " + limiter.inFlight() + " calls in flight after the run");
            check(limiter.limit() >= MIN_LIMIT && limiter.limit() <= MAX_LIMIT, limiter + " left its bounds");
            check(limiter.failureCount() == 0, limiter + " recorded " + limiter.failureCount() + " drops");
        }
        for (SimpleLimiter<Void> limiter : List.of(netflixVegas, netflixGradient2, netflixAimd)) {
            check(limiter.getInflight() == 0, "concurrency-limits " + limiter + " has " + limiter.getInflight() + " calls in flight after the run");
            check(limiter.getLimit() >= 1 && limiter.getLimit() <= MAX_LIMIT, "concurrency-limits " + limiter + " left its bounds");
        }
        check(refused.sum() == 0, "concurrency-limits refused " + refused.sum() + " calls");
    }

    private static void check(boolean condition, String what) {
        if (!condition) {
            throw new IllegalStateException(what);
        }
    }

    // ------------------------------------------------------------------ the clock alone

    /** @return the difference of two {@code ticker.read()} ({@code System.nanoTime()}): what concurrency-limits pays per call, Vigil per sampled call */
    @Benchmark
    public long baselineTwoClockReads() {
        long start = ticker.read();
        return ticker.read() - start;
    }

    // ------------------------------------------------------------------ Vegas

    /** @return the permit, from Vigil's Vegas limiter: read, {@code tryAcquirePermit()}, read, {@code complete} */
    @Benchmark
    public long vegasVigil() {
        return vigilCall(vigilVegas);
    }

    /** @return whether concurrency-limits' {@code SimpleLimiter} with {@code VegasLimit} admitted the call */
    @Benchmark
    public boolean vegasConcurrencyLimits() {
        return netflixCall(netflixVegas);
    }

    /**
     * Vigil {@code limiter.call(callable)}, Vegas: the one-line API.
     *
     * @return the call's result
     * @throws Exception never: every call is admitted and returns
     */
    @Benchmark
    public Integer vegasVigilCall() throws Exception {
        return vigilVegas.call(callable);
    }

    // ------------------------------------------------------------------ Gradient2

    /** @return the permit, from Vigil's Gradient2 limiter */
    @Benchmark
    public long gradient2Vigil() {
        return vigilCall(vigilGradient2);
    }

    /** @return whether concurrency-limits' {@code SimpleLimiter} with {@code Gradient2Limit} admitted the call */
    @Benchmark
    public boolean gradient2ConcurrencyLimits() {
        return netflixCall(netflixGradient2);
    }

    // ------------------------------------------------------------------ AIMD

    /** @return the permit, from Vigil's AIMD limiter */
    @Benchmark
    public long aimdVigil() {
        return vigilCall(vigilAimd);
    }

    /** @return whether concurrency-limits' {@code SimpleLimiter} with {@code AIMDLimit} admitted the call */
    @Benchmark
    public boolean aimdConcurrencyLimits() {
        return netflixCall(netflixAimd);
    }

    // ------------------------------------------------------------------ the two call shapes

    private static long vigilCall(AdaptiveLimiter limiter) {
        long permit = limiter.tryAcquirePermit();
        if (permit != AdmissionPolicy.REJECTED) {
            limiter.complete(permit, Outcome.SUCCESS, 0L); // measuresLatency() is false: the limiter samples itself
        }
        return permit;
    }

    private boolean netflixCall(SimpleLimiter<Void> limiter) {
        Optional<Limiter.Listener> listener = limiter.acquire(null);
        if (listener.isPresent()) {
            listener.get().onSuccess();
            return true;
        }
        refused.increment();
        return false;
    }
}
