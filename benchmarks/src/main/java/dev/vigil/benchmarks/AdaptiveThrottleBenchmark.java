package dev.vigil.benchmarks;

import dev.vigil.circuitbreaker.AdaptiveThrottle;
import dev.vigil.circuitbreaker.CircuitBreaker;
import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.LoadShedException;
import dev.vigil.core.Outcome;
import java.time.Duration;
import java.util.concurrent.Callable;
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
 * The cost of Vigil's {@link AdaptiveThrottle} (client-side adaptive throttling, as in Google's SRE
 * book) on its two hot paths. Neither peer has one (resilience4j 2.4.0 and Failsafe 3.3.2 only trip a
 * breaker), so it is compared with no policy and with Vigil's own {@link CircuitBreaker}, the policy it
 * would replace or sit beside.
 *
 * <p><b>Healthy path</b>: a throttle that has only seen successes (reject probability 0), around a call
 * that succeeds, through {@code throttle.call(callable)} ({@link #healthyThrottleCall}), with the
 * defaults (K = 2, a window of 2 minutes in 24 buckets). Compared with {@link #baseline} (the same call,
 * no policy) and with Vigil breakers, defaults, closed, through {@code breaker.call(callable)}: count
 * window of 100 ({@link #healthyBreakerCountWindowCall}) and a time window of 2 minutes in 24 buckets
 * like the throttle's ({@link #healthyBreakerTimeWindowCall}).
 *
 * <p><b>Throttling path</b>: a throttle whose window holds only failures (filled in {@link #setUp}, far
 * above its minimum request rate), so it rejects each call with its maximum probability (0.9, the
 * default), measured through the allocation-free admission API: {@code tryAcquirePermit()}
 * ({@link #throttlingTryAcquirePermit}). Nine calls in ten are rejected locally, and each local rejection
 * is recorded in the window as a request the dependency did not accept; the tenth is admitted and its
 * permit released at once (the throttle's {@code release} counts nothing), so nothing ever records a
 * success and the window stays full of failures for the whole run. For the cost a caller of
 * {@code throttle.call(callable)} sees in the same situation, {@link #throttlingCall} calls a throttle
 * in the same state around a call that fails (the dependency is refusing work, which is why the window
 * is full of failures): nine calls in ten end in a {@link LoadShedException} (allocated per rejection by
 * design: stackless, with a message describing the window), the tenth runs and fails with one
 * pre-allocated, stackless exception. It is a mix of the two, so read it as the average cost per call
 * while throttling, not as the cost of a rejection alone.
 *
 * <p>Every policy and call object is built once in {@link #setUp} and shared by the benchmark threads,
 * so {@code -t 2} shows contention on the throttle's current bucket. {@link #tearDown} checks that the
 * healthy throttle never rejected and the throttling ones still reject at their maximum probability.
 *
 * <p>What it shows: the throttle's healthy path sums the window's failure counts at admission (all
 * zero, so it stops there), and at completion increments a striped counter and adds the success to its
 * current bucket; it allocates 0 B/op (one bucket object per bucket period, far below 1 B/op). Against
 * the breaker's count window, the difference is the scan of the throttle's 24 buckets at every
 * admission and finding the current bucket at completion. The throttling path sums
 * both counters over the window, draws a {@code ThreadLocalRandom} double, and on a rejection adds to
 * the bucket's call and failure counters and a striped counter: it should allocate 0 B/op too.
 * {@link #throttlingCall} allocates by design: each local rejection builds its {@code LoadShedException},
 * whose message ({@code rejection()}) sums the window twice more and formats the probability.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class AdaptiveThrottleBenchmark {
    /** The throttle's default window, given to the time-window breaker too. */
    private static final Duration WINDOW = Duration.ofMinutes(2);
    private static final int BUCKETS = 24;
    /** Failures recorded in {@link #setUp}: well above the default minimum (1 request/s over 2 minutes = 120). */
    private static final int FILL = 10_000;
    private static final double MAX_REJECT_PROBABILITY = 0.9;

    /** Thrown by every failing call: one instance, no stack trace, no suppression list. */
    private static final class StacklessFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StacklessFailure() {
            super("simulated refusal", null, false, false);
        }
    }

    private static final StacklessFailure FAILURE = new StacklessFailure();

    private Callable<Integer> callable;
    private Callable<Integer> failing;

    private AdaptiveThrottle healthy;
    private AdaptiveThrottle throttling;
    private AdaptiveThrottle throttlingCalled;
    private CircuitBreaker breakerCount;
    private CircuitBreaker breakerTime;

    /** Builds the policies and the call once, outside the measurement, and fills the throttling window. */
    @Setup
    public void setUp() {
        Integer value = 42;
        callable = () -> value;
        failing = () -> {
            throw FAILURE;
        };

        healthy = AdaptiveThrottle.builder().name("healthy").build();
        throttling = fullOfFailures("throttling");
        throttlingCalled = fullOfFailures("throttling-called");

        breakerCount = CircuitBreaker.ofDefaults("breaker-count");
        breakerTime = CircuitBreaker.builder().name("breaker-time").timeWindow(WINDOW, BUCKETS).build();
    }

    /** Fails the run if a policy left the state its benchmarks are about. */
    @TearDown(Level.Trial)
    public void tearDown() {
        if (healthy.rejectedCount() != 0) {
            throw new IllegalStateException("the healthy throttle rejected " + healthy.rejectedCount() + " calls: " + healthy);
        }
        checkThrottling(throttling);
        checkThrottling(throttlingCalled);
        for (CircuitBreaker breaker : new CircuitBreaker[] {breakerCount, breakerTime}) {
            if (breaker.state() != CircuitBreaker.State.CLOSED) {
                throw new IllegalStateException("a breaker left CLOSED during the run: " + breaker);
            }
        }
    }

    private static AdaptiveThrottle fullOfFailures(String name) {
        AdaptiveThrottle throttle = AdaptiveThrottle.builder().name(name).maxRejectProbability(MAX_REJECT_PROBABILITY).build();
        for (int i = 0; i < FILL; i++) {
            long permit = throttle.tryAcquirePermit(); // a local rejection is itself recorded as a failure
            if (permit != AdmissionPolicy.REJECTED) {
                throttle.complete(permit, Outcome.FAILURE, 0L);
            }
        }
        checkThrottling(throttle);
        return throttle;
    }

    private static void checkThrottling(AdaptiveThrottle throttling) {
        double probability = throttling.rejectProbability();
        if (probability != MAX_REJECT_PROBABILITY) {
            throw new IllegalStateException("the throttling throttle rejects with probability " + probability + ", not "
                    + MAX_REJECT_PROBABILITY + ", so the benchmark does not measure the throttling path: " + throttling);
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

    /**
     * Vigil {@code throttle.call(callable)}, healthy: reject probability 0.
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer healthyThrottleCall() throws Exception {
        return healthy.call(callable);
    }

    /**
     * Vigil {@code breaker.call(callable)}, closed, count window of 100 (the defaults).
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer healthyBreakerCountWindowCall() throws Exception {
        return breakerCount.call(callable);
    }

    /**
     * Vigil {@code breaker.call(callable)}, closed, time window of 2 minutes in 24 buckets (the throttle's window).
     *
     * @return the call's result
     * @throws Exception never
     */
    @Benchmark
    public Integer healthyBreakerTimeWindowCall() throws Exception {
        return breakerTime.call(callable);
    }

    /**
     * Vigil {@code throttle.tryAcquirePermit()} on a throttle rejecting with its maximum probability; an
     * admitted call's permit (one in ten) is released at once.
     *
     * @return the permit, or {@code AdmissionPolicy.REJECTED}
     */
    @Benchmark
    public long throttlingTryAcquirePermit() {
        long permit = throttling.tryAcquirePermit();
        if (permit != AdmissionPolicy.REJECTED) {
            throttling.release(permit);
        }
        return permit;
    }

    /**
     * Vigil {@code throttle.call(failing)} on a throttle rejecting with its maximum probability, around a
     * call that fails: nine calls in ten rejected locally, the tenth failing.
     *
     * @return the {@link LoadShedException} of a local rejection, or the call's own failure
     * @throws Exception never: every call is rejected or fails with {@code FAILURE}
     */
    @Benchmark
    public Object throttlingCall() throws Exception {
        try {
            return throttlingCalled.call(failing);
        } catch (LoadShedException rejected) {
            return rejected;
        } catch (StacklessFailure refused) {
            return refused;
        }
    }
}
