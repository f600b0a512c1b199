package dev.vigil.benchmarks;

import dev.vigil.core.RetryBudget;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
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
 * The cost of each {@link RetryBudget} operation a retry or hedge makes, for both built-in kinds, on a
 * budget shared by every benchmark thread (so {@code -t 2} and {@code -t 4} show contention on it).
 * Neither peer has a retry budget (resilience4j 2.4.0 and Failsafe 3.3.2 bound retries per call only),
 * so there is nothing to compare with but the operations themselves.
 *
 * <p>{@code RetryBudget.tokenBucket()} (gRPC-style; one padded {@code long} updated by CAS):
 * <ul>
 *   <li>{@link #tokenBucketOnSuccessFull}: {@code onSuccess()} on a full bucket, the healthy path, which
 *       only reads the word;</li>
 *   <li>{@link #tokenBucketOnFailureOnSuccess}: {@code onFailure()} then {@code onSuccess()} with a
 *       {@code tokenRatio} of 1.0, so each pair takes a token and gives it back: a bucket that moves (one
 *       CAS each), near full, never draining;</li>
 *   <li>{@link #tokenBucketTryAcquireRetry}: {@code tryAcquireRetry()} on a full bucket (granted; a read:
 *       the failure before a retry is what takes the token);</li>
 *   <li>{@link #tokenBucketTryAcquireRetryDenied}: the same on a bucket drained in {@link #setUp}
 *       (refused; counts the refusal in a {@code LongAdder}).</li>
 * </ul>
 *
 * <p>{@code RetryBudget.percentOfRequests()} (Finagle-style; a clock read and per-slice counters in an
 * {@code AtomicLongArray}, updated by CAS):
 * <ul>
 *   <li>{@link #percentOnCall}: {@code onCall()}, the deposit every call makes;</li>
 *   <li>{@link #percentTryAcquireRetry}: {@code tryAcquireRetry()} granted (sums the 10-slice window,
 *       then one CAS), on a budget whose reserve ({@code minRetriesPerSecond} 1,000,000 over a 1 h
 *       {@code ttl}: 3.6 billion retries, several minutes of uninterrupted calls at the rates seen here)
 *       does not run out in a run of the default length; {@link #tearDown} fails the run if it ever
 *       refused, so the number is always the granted path;</li>
 *   <li>{@link #percentOnCallTryAcquireRetry}: {@code onCall()} then {@code tryAcquireRetry()} with
 *       {@code percentCanRetry} 1.0 (every call earns the retry it takes: the steady state of a service
 *       where every call is retried once). Its reserve is large too ({@code minRetriesPerSecond}
 *       1,000,000 over the default 10 s: 10 million retries): with the default reserve of 100, a thread
 *       preempted between reading the window's deposits and its withdrawals, while the other threads
 *       make over 100 more pairs, sees the budget overdrawn and refuses a retry (the budget reads
 *       conservatively by design); a smoke run at {@code -t 2} on a busy 2-core machine hit that once;</li>
 *   <li>{@link #percentTryAcquireRetryDenied}: {@code tryAcquireRetry()} refused (no reserve, no
 *       deposits).</li>
 * </ul>
 *
 * <p>What it shows: every operation allocates 0 B/op (the built-in budgets are allocation-free). The
 * read-only token-bucket paths stay flat as threads grow; the paths that write (a CAS on one shared word
 * or cell, a {@code LongAdder} for refusals) show what contention costs at {@code -t 2} and {@code -t 4}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class RetryBudgetBenchmark {

    private RetryBudget bucketFull;
    private RetryBudget bucketMoving;
    private RetryBudget bucketDrained;

    private RetryBudget percentDeposits;
    private RetryBudget percentReserve;
    private RetryBudget percentBalanced;
    private RetryBudget percentEmpty;

    /** Builds the budgets once, outside the measurement; each benchmark uses its own. */
    @Setup
    public void setUp() {
        bucketFull = RetryBudget.tokenBucket().name("full").build();
        bucketMoving = RetryBudget.tokenBucket().name("moving").tokenRatio(1.0).build();
        bucketDrained = RetryBudget.tokenBucket().name("drained").build();
        for (int i = 0; i < 10; i++) {
            bucketDrained.onFailure(); // the default 10 tokens, all taken: retries are refused
        }
        if (bucketDrained.tryAcquireRetry()) {
            throw new IllegalStateException("the drained bucket still grants retries: " + bucketDrained);
        }

        percentDeposits = RetryBudget.percentOfRequests().name("deposits").build();
        percentReserve = RetryBudget.percentOfRequests()
                .name("reserve")
                .ttl(Duration.ofHours(1))
                .minRetriesPerSecond(1_000_000)
                .build();
        percentBalanced = RetryBudget.percentOfRequests()
                .name("balanced")
                .percentCanRetry(1.0)
                .minRetriesPerSecond(1_000_000)
                .build();
        percentEmpty = RetryBudget.percentOfRequests()
                .name("empty")
                .percentCanRetry(0.0)
                .minRetriesPerSecond(0)
                .build();
        if (percentEmpty.tryAcquireRetry()) {
            throw new IllegalStateException("the empty budget grants retries: " + percentEmpty);
        }
    }

    /** Fails the run if a budget meant to grant every retry refused one: its numbers would be the wrong path. */
    @TearDown(Level.Trial)
    public void tearDown() {
        for (RetryBudget granting : new RetryBudget[] {bucketFull, bucketMoving, percentReserve, percentBalanced}) {
            if (granting.deniedCount() != 0) {
                throw new IllegalStateException("refused " + granting.deniedCount()
                        + " retries, so the benchmark measured the refusal path: " + granting);
            }
        }
    }

    /** Token bucket {@code onSuccess()} on a full bucket (the healthy path: a read, no write). */
    @Benchmark
    public void tokenBucketOnSuccessFull() {
        bucketFull.onSuccess();
    }

    /** Token bucket {@code onFailure()} then {@code onSuccess()}, ratio 1.0: a CAS down and a CAS back up. */
    @Benchmark
    public void tokenBucketOnFailureOnSuccess() {
        bucketMoving.onFailure();
        bucketMoving.onSuccess();
    }

    /**
     * Token bucket {@code tryAcquireRetry()} on a full bucket (granted).
     *
     * @return true
     */
    @Benchmark
    public boolean tokenBucketTryAcquireRetry() {
        return bucketFull.tryAcquireRetry();
    }

    /**
     * Token bucket {@code tryAcquireRetry()} on a drained bucket (refused, counted).
     *
     * @return false
     */
    @Benchmark
    public boolean tokenBucketTryAcquireRetryDenied() {
        return bucketDrained.tryAcquireRetry();
    }

    /** Percent-of-requests {@code onCall()}: a clock read and a CAS on the current slice's deposit cell. */
    @Benchmark
    public void percentOnCall() {
        percentDeposits.onCall();
    }

    /**
     * Percent-of-requests {@code tryAcquireRetry()} granted from the reserve: clock read, window sum, CAS.
     *
     * @return true
     */
    @Benchmark
    public boolean percentTryAcquireRetry() {
        return percentReserve.tryAcquireRetry();
    }

    /**
     * Percent-of-requests {@code onCall()} then {@code tryAcquireRetry()} at 100%: a call and its retry.
     *
     * @return true
     */
    @Benchmark
    public boolean percentOnCallTryAcquireRetry() {
        percentBalanced.onCall();
        return percentBalanced.tryAcquireRetry();
    }

    /**
     * Percent-of-requests {@code tryAcquireRetry()} with no reserve and no deposits (refused, counted).
     *
     * @return false
     */
    @Benchmark
    public boolean percentTryAcquireRetryDenied() {
        return percentEmpty.tryAcquireRetry();
    }
}
