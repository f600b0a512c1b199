package dev.vigil.governor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.time.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link RateLimiter} as jqwik properties in virtual time, over random limits (one or two, 1 to 50
 * permits per 1 ms to 5 s, bursts of 1 to 3 periods' worth) and random sequences of time steps,
 * {@code tryAcquire(n)} and {@code reserve(n, maxWait)}.
 *
 * <ul>
 *   <li>{@link #agreesWithATokenBucketModel}: every answer (admitted or not, and the wait of a
 *       reservation) equals that of a token bucket per limit written independently of GCRA: a credit
 *       in nanoseconds, capped at {@code burst * interval}, that time refills and a call spends
 *       ({@code n * interval}); a reservation may drive it below zero by at most its max wait. A call
 *       needs every limit's consent and then spends on all of them.</li>
 *   <li>{@link #neverMoreThanRateTimesWindowPlusBurst}: counted on the grant times alone (the call's
 *       time plus its wait), every closed window {@code [t, t + W]} holds at most
 *       {@code floor(W / interval) + burst} permits per limit, so at most {@code rate * W + burst}, for
 *       W of a tenth, a half, one and three periods; with and without warm-up.</li>
 *   <li>{@link #steadyDemandAboveTheRateGetsExactlyTheRate}: draining the limiter at every time step
 *       (steps of at most one interval) for up to 10,000 intervals admits exactly
 *       {@code burst + floor(t / interval)} permits by time {@code t}: no drift (bursts of at least 2:
 *       a bucket of one permit refilled between polls stays full and loses the rest of the step).</li>
 * </ul>
 */
class RateLimiterProperties {

    record Limit(long permits, long periodNanos, long burst) {
        long interval() {
            return periodNanos / permits + (periodNanos % permits == 0 ? 0 : 1);
        }
    }

    /** kind 0: advance by {@code nanos}; 1: tryAcquire(n); 2: reserve(n, nanos). */
    record Op(int kind, int n, long nanos) {}

    @Provide
    Arbitrary<List<Limit>> limits() {
        Arbitrary<Limit> limit = Combinators.combine(
                Arbitraries.longs().between(1, 50),
                Arbitraries.longs().between(1, 5_000),
                Arbitraries.integers().between(1, 30))
                .as((permits, periodMs, burstTenths) -> new Limit(permits, periodMs * 1_000_000L,
                        Math.max(1, permits * burstTenths / 10)));
        return limit.list().ofMinSize(1).ofMaxSize(2);
    }

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> advance = Arbitraries.longs().between(0, 3_000_000_000L).map(nanos -> new Op(0, 0, nanos));
        Arbitrary<Op> smallAdvance = Arbitraries.longs().between(0, 5_000_000L).map(nanos -> new Op(0, 0, nanos));
        Arbitrary<Op> tryAcquire = Arbitraries.integers().between(1, 3).map(n -> new Op(1, n, 0));
        Arbitrary<Op> reserve = Combinators.combine(Arbitraries.integers().between(1, 3), Arbitraries.longs().between(0, 2_000_000_000L))
                .as((n, wait) -> new Op(2, n, wait));
        return Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(2, advance), net.jqwik.api.Tuple.of(3, smallAdvance),
                        net.jqwik.api.Tuple.of(6, tryAcquire), net.jqwik.api.Tuple.of(2, reserve))
                .list().ofMinSize(1).ofMaxSize(120);
    }

    private static RateLimiter build(List<Limit> limits, ManualScheduler scheduler, boolean warmup) {
        RateLimiter.Builder builder = RateLimiter.builder().name("p").scheduler(scheduler);
        for (Limit limit : limits) {
            builder.limit(limit.permits(), Duration.ofNanos(limit.periodNanos()), limit.burst());
        }
        if (warmup) {
            builder.warmup(Duration.ofNanos(limits.get(0).periodNanos()), 3.0);
        }
        return builder.build();
    }

    private static int permitsFor(Op op, List<Limit> limits) {
        long minBurst = limits.stream().mapToLong(Limit::burst).min().orElseThrow();
        return (int) Math.min(op.n(), minBurst);
    }

    @Property(tries = 600, seed = "20261121")
    void agreesWithATokenBucketModel(@ForAll("limits") List<Limit> limits, @ForAll("ops") List<Op> ops) {
        ManualScheduler scheduler = new ManualScheduler();
        RateLimiter limiter = build(limits, scheduler, false);
        int count = limits.size();
        long[] capacity = new long[count];
        long[] credit = new long[count];
        for (int i = 0; i < count; i++) {
            capacity[i] = limits.get(i).burst() * limits.get(i).interval();
            credit[i] = capacity[i];
        }
        long refused = 0;
        int step = 0;
        for (Op op : ops) {
            step++;
            if (op.kind() == 0) {
                scheduler.advance(Duration.ofNanos(op.nanos()));
                for (int i = 0; i < count; i++) {
                    credit[i] = Math.min(capacity[i], credit[i] + op.nanos());
                }
                continue;
            }
            int n = permitsFor(op, limits);
            long maxWait = op.kind() == 1 ? 0 : op.nanos();
            long wait = 0;
            for (int i = 0; i < count; i++) {
                wait = Math.max(wait, n * limits.get(i).interval() - credit[i]);
            }
            boolean admit = wait <= maxWait;
            if (admit) {
                for (int i = 0; i < count; i++) {
                    credit[i] -= n * limits.get(i).interval();
                }
            } else {
                refused++;
            }
            if (op.kind() == 1) {
                assertEquals(admit, limiter.tryAcquire(n), "step " + step + ": tryAcquire(" + n + ")");
            } else {
                assertEquals(admit ? Math.max(0, wait) : -1L, limiter.reserve(n, Duration.ofNanos(maxWait)),
                        "step " + step + ": reserve(" + n + ", " + maxWait + " ns)");
            }
            assertEquals(refused, limiter.rejectedCount(), "refusals counted");
            long available = Long.MAX_VALUE;
            for (int i = 0; i < count; i++) {
                available = Math.min(available, Math.max(0, credit[i]) / limits.get(i).interval());
            }
            assertEquals(available, limiter.availablePermits(), "step " + step + ": availablePermits");
        }
    }

    @Property(tries = 400, seed = "20261122")
    void neverMoreThanRateTimesWindowPlusBurst(@ForAll("limits") List<Limit> limits, @ForAll("ops") List<Op> ops,
                                               @ForAll boolean warmup) {
        ManualScheduler scheduler = new ManualScheduler();
        RateLimiter limiter = build(limits, scheduler, warmup);
        List<long[]> grants = new ArrayList<>(); // {grant time, permits}
        for (Op op : ops) {
            if (op.kind() == 0) {
                scheduler.advance(Duration.ofNanos(op.nanos()));
                continue;
            }
            int n = permitsFor(op, limits);
            long now = scheduler.ticker().read();
            if (op.kind() == 1) {
                if (limiter.tryAcquire(n)) {
                    grants.add(new long[] {now, n});
                }
            } else {
                long wait = limiter.reserve(n, Duration.ofNanos(op.nanos()));
                if (wait >= 0) {
                    grants.add(new long[] {now + wait, n});
                }
            }
        }
        grants.sort((a, b) -> Long.compare(a[0], b[0]));
        for (Limit limit : limits) {
            for (long window : new long[] {limit.periodNanos() / 10, limit.periodNanos() / 2, limit.periodNanos(), 3 * limit.periodNanos()}) {
                long allowed = window / limit.interval() + limit.burst();
                double byRate = (double) window * limit.permits() / limit.periodNanos() + limit.burst();
                for (int start = 0; start < grants.size(); start++) {
                    long from = grants.get(start)[0];
                    long inWindow = 0;
                    for (int j = start; j < grants.size() && grants.get(j)[0] <= from + window; j++) {
                        inWindow += grants.get(j)[1];
                    }
                    final long counted = inWindow;
                    assertTrue(counted <= allowed, () -> counted + " permits in [" + from + ", +" + window + "] > " + allowed + " for " + limit);
                    assertTrue(counted <= byRate + 1e-9, () -> counted + " permits > rate * W + burst = " + byRate);
                }
            }
        }
    }

    @Property(tries = 100, seed = "20261123")
    void steadyDemandAboveTheRateGetsExactlyTheRate(@ForAll("limits") List<Limit> limits,
                                                    @ForAll("stepFractions") int stepPercent) {
        // A bucket of one permit loses the time between its refill and the next poll (as any token
        // bucket does); from two on, a poll at most one interval after the last drain finds it below its cap.
        Limit limit = new Limit(limits.get(0).permits(), limits.get(0).periodNanos(), Math.max(2, limits.get(0).burst()));
        ManualScheduler scheduler = new ManualScheduler();
        RateLimiter limiter = RateLimiter.builder().scheduler(scheduler)
                .limit(limit.permits(), Duration.ofNanos(limit.periodNanos()), limit.burst()).build();
        long step = Math.max(1, limit.interval() * stepPercent / 100);
        long start = scheduler.ticker().read();
        long admitted = 0;
        long steps = 10_000L * limit.interval() / step;
        for (long i = 0; i <= Math.min(steps, 20_000); i++) {
            while (limiter.tryAcquire()) {
                admitted++;
            }
            long elapsed = scheduler.ticker().read() - start;
            assertEquals(limit.burst() + elapsed / limit.interval(), admitted, "admitted by " + elapsed + " ns for " + limit);
            scheduler.advance(Duration.ofNanos(step));
        }
    }

    @Provide
    Arbitrary<Integer> stepFractions() {
        return Arbitraries.of(1, 7, 33, 50, 99, 100);
    }
}
