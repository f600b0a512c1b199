package dev.vigil.benchmarks;

import dev.vigil.governor.KeyedRateLimiter;
import dev.vigil.governor.RateLimiter;
import io.github.bucket4j.Bucket;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import java.time.Duration;
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
 * The cost of a rate limiter's {@code tryAcquire()} for one permit, admitted, with every limiter built
 * once and shared by the benchmark threads ({@code Scope.Benchmark}), so {@code -t 2} and {@code -t 4}
 * show contention on one limiter.
 *
 * <p>Every limiter is configured so that it never runs dry during a run (what is measured is the
 * admission path, not refusals): the rates differ, because each library bounds them differently.
 * <ul>
 *   <li>Vigil {@code RateLimiter}, one limit of 1,000,000 per second (its highest rate: one permit per
 *       microsecond) with a burst of 10^12, {@code tryAcquire()} ({@link #vigilTryAcquire}): one
 *       {@link System#nanoTime()} read and one CAS; and the same with a second limit (6 x 10^7 per minute,
 *       burst 10^12) ({@link #vigilTwoLimitsTryAcquire}): a read-only check of both, then a CAS on each;</li>
 *   <li>resilience4j 2.4.0 {@code AtomicRateLimiter} ({@code RateLimiter.of(name, config)}, the default
 *       implementation) with {@code limitForPeriod(Integer.MAX_VALUE)} per 1 s and
 *       {@code timeoutDuration(0)}, {@code acquirePermission()} ({@link #resilience4jAcquirePermission}):
 *       {@code System.nanoTime()}, a new immutable state object, a CAS of an {@code AtomicReference};</li>
 *   <li>Bucket4j 8.14.0 local bucket ({@code Bucket.builder()}, its defaults: lock-free synchronization,
 *       millisecond time precision) with one bandwidth of capacity 10^12 refilled greedily 1,000,000 per
 *       second, {@code tryConsume(1)} ({@link #bucket4jTryConsume});</li>
 *   <li>Guava 33.5.0 {@code RateLimiter.create(1e12)} (SmoothBursty), {@code tryAcquire()}
 *       ({@link #guavaTryAcquire}): a {@code synchronized} block around a stopwatch read;</li>
 *   <li>Failsafe 3.3.2 {@code RateLimiter.burstyBuilder(10^12, 1 s)}, {@code tryAcquirePermit()}
 *       ({@link #failsafeTryAcquirePermit}): {@code synchronized} stats;</li>
 *   <li>for scale, one {@code System.nanoTime()} read alone ({@link #nanoTimeAlone}): the clock read
 *       that every limiter here makes per call;</li>
 *   <li>Vigil {@code KeyedRateLimiter} with 1,000 string keys (hash cached), each call for the next key
 *       of a per-thread cursor ({@link #vigilKeyedTryAcquire}): a map lookup on top of the one-limit path.</li>
 * </ul>
 * Each method returns the decision (so it is not dropped) and counts a refusal on a cold branch;
 * {@link #tearDown} fails the run if any call was refused.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class RateLimiterBenchmark {
    private static final long HUGE = 1_000_000_000_000L;

    private RateLimiter vigil;
    private RateLimiter vigilTwoLimits;
    private KeyedRateLimiter<String> vigilKeyed;
    private String[] keys;
    private io.github.resilience4j.ratelimiter.RateLimiter resilience4j;
    private Bucket bucket4j;
    private com.google.common.util.concurrent.RateLimiter guava;
    private dev.failsafe.RateLimiter<Object> failsafe;
    private final LongAdder refused = new LongAdder();

    /** Builds every limiter once. */
    @Setup
    public void setUp() {
        vigil = RateLimiter.builder().name("vigil").limit(1_000_000, Duration.ofSeconds(1), HUGE).build();
        vigilTwoLimits = RateLimiter.builder().name("vigil-2").limit(1_000_000, Duration.ofSeconds(1), HUGE)
                .limit(60_000_000, Duration.ofMinutes(1), HUGE).build();
        vigilKeyed = KeyedRateLimiter.<String>builder().name("vigil-keyed").limit(1_000_000, Duration.ofSeconds(1), HUGE).build();
        keys = new String[1_000];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = "tenant-" + i;
            keys[i].hashCode(); // cache the hash, as any long-lived key has it
        }
        resilience4j = io.github.resilience4j.ratelimiter.RateLimiter.of("r4j", RateLimiterConfig.custom()
                .limitForPeriod(Integer.MAX_VALUE).limitRefreshPeriod(Duration.ofSeconds(1)).timeoutDuration(Duration.ZERO).build());
        bucket4j = Bucket.builder().addLimit(limit -> limit.capacity(HUGE).refillGreedy(1_000_000, Duration.ofSeconds(1))).build();
        guava = com.google.common.util.concurrent.RateLimiter.create(1e12);
        failsafe = dev.failsafe.RateLimiter.burstyBuilder(HUGE, Duration.ofSeconds(1)).build();
    }

    /** Fails the run if any limiter refused a call: the claim is that the admitted path was measured. */
    @TearDown(Level.Trial)
    public void tearDown() {
        long vigilRefused = vigil.rejectedCount() + vigilTwoLimits.rejectedCount() + vigilKeyed.rejectedCount();
        if (vigilRefused != 0 || refused.sum() != 0) {
            throw new IllegalStateException("refused calls: vigil " + vigilRefused + ", peers " + refused.sum());
        }
    }

    /** A per-thread cursor over the keys. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;
    }

    /** @return Vigil's decision */
    @Benchmark
    public boolean vigilTryAcquire() {
        return counted(vigil.tryAcquire());
    }

    /** @return Vigil's decision with two limits */
    @Benchmark
    public boolean vigilTwoLimitsTryAcquire() {
        return counted(vigilTwoLimits.tryAcquire());
    }

    /**
     * @param cursor this thread's next key
     * @return Vigil's keyed decision
     */
    @Benchmark
    public boolean vigilKeyedTryAcquire(Cursor cursor) {
        int index = cursor.next;
        cursor.next = index == keys.length - 1 ? 0 : index + 1;
        return vigilKeyed.tryAcquire(keys[index]);
    }

    /** @return resilience4j's decision */
    @Benchmark
    public boolean resilience4jAcquirePermission() {
        return counted(resilience4j.acquirePermission());
    }

    /** @return Bucket4j's decision */
    @Benchmark
    public boolean bucket4jTryConsume() {
        return counted(bucket4j.tryConsume(1));
    }

    /** @return Guava's decision */
    @Benchmark
    public boolean guavaTryAcquire() {
        return counted(guava.tryAcquire());
    }

    /** @return Failsafe's decision */
    @Benchmark
    public boolean failsafeTryAcquirePermit() {
        return counted(failsafe.tryAcquirePermit());
    }

    /** @return one clock reading, for scale */
    @Benchmark
    public long nanoTimeAlone() {
        return System.nanoTime();
    }

    private boolean counted(boolean admitted) {
        if (!admitted) {
            refused.increment();
        }
        return admitted;
    }
}
