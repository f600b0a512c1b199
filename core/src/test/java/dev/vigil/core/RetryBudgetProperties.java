package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;

/**
 * The two built-in {@link RetryBudget}s against sequential models of their documented algorithms.
 *
 * <p><b>Token bucket</b> (gRPC retry throttling, {@link RetryBudget#tokenBucket()}):
 * <ul>
 *   <li>through a {@link Retry} (up to 5 attempts, {@link Backoff#none()}) over a long run of calls whose
 *       attempts fail or succeed at random, after every call {@code retries <= tokenRatio * calls +
 *       maxTokens / 2}, in exact integer thousandths (the ratio is drawn as a whole number of
 *       thousandths, the precision the budget keeps), and the sharper form of the javadoc's own
 *       argument, {@code retries <= tokenRatio * successes + maxTokens / 2};</li>
 *   <li>on random sequences of {@code onCall}, {@code onSuccess}, {@code onFailure},
 *       {@code tryAcquireRetry} and {@code available}, every answer equals a sequential model's: tokens
 *       in thousandths, clamped to [0, max], a failure takes 1000, a success adds the ratio, a retry is
 *       allowed while tokens &gt; max / 2 (and takes nothing), {@code available} is the whole tokens above
 *       half, rounded up (the retries that many failed attempts could still buy), and the denials are
 *       counted.</li>
 * </ul>
 *
 * <p><b>Percent of requests</b> (Finagle, {@link RetryBudget#percentOfRequests()}), on a
 * {@link ManualTicker} starting anywhere and random advances (within a slice, across slices, longer than
 * the ttl): the model keeps the full history of deposit and withdrawal timestamps, cuts time into slices
 * of {@code ttl / 10} and takes the window as the current slice and the nine before; a retry is allowed
 * when {@code reserve + permille * deposits - 1000 * withdrawals >= 1000} over the window, in exact
 * thousandths ({@code reserve = 1000 * minRetriesPerSecond * ttl}). Every {@code tryAcquireRetry} and
 * {@code available} answer equals the model's, and after every granted withdrawal the window holds
 * {@code withdrawals <= percentCanRetry * deposits + minRetriesPerSecond * ttl}. The reserve is a whole
 * number of retries here (whole-second ttl, or no reserve with any ttl);
 * {@link #aReserveOfOneAndAHalfRetriesAllowsOneRetryNotTwo} covers a fractional one.
 */
class RetryBudgetProperties {

    /** A stackless failure without suppression, so long runs stay cheap. */
    static final class Flaky extends Exception {
        private static final long serialVersionUID = 1L;

        Flaky() {
            super("flaky", null, false, false);
        }
    }

    // ------------------------------------------------------------------ token bucket, through a Retry

    @Property(seed = "6610001", tries = 200)
    void tokenBucketRetriesStayWithinRatioTimesCallsPlusHalfTheBucket(
            @ForAll @IntRange(min = 1, max = 200) int maxTokens,
            @ForAll("ratioThousandths") int ratio,
            @ForAll @IntRange(min = 1, max = 5) int maxAttempts,
            @ForAll @IntRange(min = 0, max = 1000) int failurePermille,
            @ForAll @IntRange(min = 50, max = 3000) int calls,
            @ForAll long seed) {
        RetryBudget budget = RetryBudget.tokenBucket().maxTokens(maxTokens).tokenRatio(ratio / 1000.0).build();
        Retry retry = Retry.builder().maxAttempts(maxAttempts).backoff(Backoff.none()).budget(budget)
                .scheduler(new ManualScheduler()).build();
        SplittableRandom random = new SplittableRandom(seed);
        long[] attempts = {0};
        long successes = 0;
        for (int call = 1; call <= calls; call++) {
            try {
                retry.call(() -> {
                    attempts[0]++;
                    if (random.nextInt(1000) < failurePermille) {
                        throw new Flaky();
                    }
                    return "ok";
                });
                successes++;
            } catch (Flaky expected) {
                // retries ran out: attempts or budget
            } catch (Exception unexpected) {
                throw new AssertionError(unexpected);
            }
            long retries = attempts[0] - call;
            assertEquals(retries, retry.retryCount(), "retryCount = attempts - calls");
            // Exact, in thousandths of a token: retries <= tokenRatio * calls + maxTokens / 2.
            assertTrue(1000 * retries <= (long) ratio * call + 500L * maxTokens,
                    retries + " retries after " + call + " calls exceed " + ratio / 1000.0 + " * calls + " + maxTokens + " / 2");
            assertTrue(1000 * retries <= (long) ratio * successes + 500L * maxTokens,
                    retries + " retries after " + successes + " successes exceed " + ratio / 1000.0 + " * successes + " + maxTokens + " / 2");
        }
    }

    @Provide
    Arbitrary<Integer> ratioThousandths() {
        return Arbitraries.frequencyOf(
                Tuple.of(5, Arbitraries.integers().between(1, 200)),
                Tuple.of(3, Arbitraries.integers().between(1, 2_000)),
                Tuple.of(1, Arbitraries.integers().between(1, 1_000_000)));
    }

    // ------------------------------------------------------------------ token bucket, model

    enum BucketOp { CALL, SUCCESS, FAILURE, TRY, AVAILABLE }

    /** The gRPC algorithm, sequentially, in thousandths of a token. */
    static final class BucketModel {
        final long max;
        final long ratio;
        long tokens;
        long denied;

        BucketModel(int maxTokens, int ratio) {
            this.max = 1000L * maxTokens;
            this.ratio = ratio;
            this.tokens = max;
        }

        void success() {
            tokens = Math.min(max, tokens + ratio);
        }

        void failure() {
            tokens = Math.max(0, tokens - 1000);
        }

        boolean tryAcquire() {
            boolean allowed = tokens > max / 2;
            if (!allowed) {
                denied++;
            }
            return allowed;
        }

        long available() {
            long above = tokens - max / 2;
            return above <= 0 ? 0 : (above + 999) / 1000;
        }
    }

    @Property(seed = "6610002", tries = 300)
    void tokenBucketAnswersAsTheSequentialModel(
            @ForAll @IntRange(min = 1, max = 30) int maxTokens,
            @ForAll("ratioThousandths") int ratio,
            @ForAll("bucketOps") List<BucketOp> ops) {
        TokenBucketBudget budget = (TokenBucketBudget) RetryBudget.tokenBucket().maxTokens(maxTokens).tokenRatio(ratio / 1000.0).build();
        BucketModel model = new BucketModel(maxTokens, ratio);
        int step = 0;
        for (BucketOp op : ops) {
            step++;
            String where = "step " + step + " (" + op + ") of " + ops + ", maxTokens " + maxTokens + ", ratio " + ratio + "/1000";
            switch (op) {
                case CALL:
                    budget.onCall();
                    break;
                case SUCCESS:
                    budget.onSuccess();
                    model.success();
                    break;
                case FAILURE:
                    budget.onFailure();
                    model.failure();
                    break;
                case TRY:
                    assertEquals(model.tryAcquire(), budget.tryAcquireRetry(), where);
                    break;
                default:
                    assertEquals(model.available(), budget.available(), where);
            }
            assertEquals(model.tokens, Math.round(budget.tokens() * 1000), "tokens after " + where);
            assertEquals(model.denied, budget.deniedCount(), "denials after " + where);
            assertEquals(model.tokens > model.max / 2, budget.available() > 0, "available() > 0 iff a retry is allowed, " + where);
        }
    }

    @Provide
    Arbitrary<List<BucketOp>> bucketOps() {
        return Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.just(BucketOp.CALL)),
                Tuple.of(3, Arbitraries.just(BucketOp.SUCCESS)),
                Tuple.of(4, Arbitraries.just(BucketOp.FAILURE)),
                Tuple.of(3, Arbitraries.just(BucketOp.TRY)),
                Tuple.of(1, Arbitraries.just(BucketOp.AVAILABLE))).list().ofMinSize(1).ofMaxSize(200);
    }

    // ------------------------------------------------------------------ percent of requests, model

    enum Kind { ADVANCE, CALL, TRY, AVAILABLE }

    record Op(Kind kind, long amount) {}

    /** Finagle's budget, sequentially, with the full history. */
    static final class PercentModel {
        final long sliceNanos;
        final long permille;
        /** Retries always allowed in a window, in thousandths; exact. */
        final long reserve;
        final List<Long> deposits = new ArrayList<>();
        final List<Long> withdrawals = new ArrayList<>();
        long denied;

        PercentModel(long ttlNanos, int permille, long reserveThousandths) {
            this.sliceNanos = ttlNanos / 10;
            this.permille = permille;
            this.reserve = reserveThousandths;
        }

        long slice(long time) {
            return Math.floorDiv(time, sliceNanos);
        }

        long inWindow(List<Long> times, long now) {
            long current = slice(now);
            return times.stream().filter(t -> slice(t) >= current - 9 && slice(t) <= current).count();
        }

        long balance(long now) {
            return reserve + permille * inWindow(deposits, now) - 1000 * inWindow(withdrawals, now);
        }

        boolean tryAcquire(long now) {
            if (balance(now) >= 1000) {
                withdrawals.add(now);
                return true;
            }
            denied++;
            return false;
        }

        long available(long now) {
            long balance = balance(now);
            return balance <= 0 ? 0 : balance / 1000;
        }
    }

    record PercentConfig(long ttlNanos, int permille, int minRetriesPerSecond, long start) {
        /** The reserve in thousandths, exact: 1000 * minRetriesPerSecond * ttl, a whole number of thousandths here. */
        long reserveThousandths() {
            return minRetriesPerSecond * ttlNanos / 1_000_000L;
        }
    }

    @Provide
    Arbitrary<PercentConfig> percentConfigs() {
        Arbitrary<Integer> permille = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.just(0)),
                // Balances that land just below or on a whole retry: 3 * 333 = 999, 7 * 143 = 1001, ...
                Tuple.of(2, Arbitraries.of(1, 111, 142, 143, 333, 334, 499, 500, 999, 1000, 1001)),
                Tuple.of(5, Arbitraries.integers().between(0, 500)),
                Tuple.of(2, Arbitraries.integers().between(0, 10_000)));
        Arbitrary<Long> start = Arbitraries.oneOf(Arbitraries.just(0L), Arbitraries.longs().between(-(1L << 62), 1L << 62));
        // A whole-second ttl with any reserve, or any ttl (to the nanosecond) without one.
        Arbitrary<PercentConfig> wholeSeconds = Combinators.combine(
                Arbitraries.oneOf(Arbitraries.longs().between(1, 20), Arbitraries.longs().between(1, 3600)).map(s -> s * 1_000_000_000L),
                permille,
                Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.just(0)), Tuple.of(6, Arbitraries.integers().between(0, 5)),
                        Tuple.of(1, Arbitraries.integers().between(0, 1_000_000))),
                start).as(PercentConfig::new);
        Arbitrary<PercentConfig> anyTtl = Combinators.combine(
                Arbitraries.longs().between(1_000_000_000L, 3_600_000_000_000L), permille, start)
                .as((ttl, p, s) -> new PercentConfig(ttl, p, 0, s));
        return Arbitraries.oneOf(wholeSeconds, anyTtl);
    }

    @Provide
    Arbitrary<List<Op>> percentOps() {
        // Advances in units of a tenth of a slice up to five ttls; scaled to the ttl in the property.
        Arbitrary<Op> advance = Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.longs().between(0, 10)),       // within a slice, or just across
                Tuple.of(3, Arbitraries.longs().between(0, 100)),      // a few slices
                Tuple.of(1, Arbitraries.longs().between(90, 500))).map(a -> new Op(Kind.ADVANCE, a)); // about or beyond the ttl
        return Arbitraries.frequencyOf(
                Tuple.of(3, advance),
                Tuple.of(5, Arbitraries.just(new Op(Kind.CALL, 0))),
                Tuple.of(4, Arbitraries.just(new Op(Kind.TRY, 0))),
                Tuple.of(1, Arbitraries.just(new Op(Kind.AVAILABLE, 0)))).list().ofMinSize(1).ofMaxSize(300);
    }

    @Property(seed = "6610003", tries = 300)
    void percentOfRequestsAnswersAsTheSequentialModel(@ForAll("percentConfigs") PercentConfig config,
                                                      @ForAll("percentOps") List<Op> ops,
                                                      @ForAll long jitterSeed) {
        ManualTicker ticker = new ManualTicker(config.start());
        RetryBudget budget = RetryBudget.percentOfRequests().percentCanRetry(config.permille() / 1000.0)
                .ttl(Duration.ofNanos(config.ttlNanos())).minRetriesPerSecond(config.minRetriesPerSecond()).ticker(ticker).build();
        PercentModel model = new PercentModel(config.ttlNanos(), config.permille(), config.reserveThousandths());
        long tenthOfSlice = Math.max(1, model.sliceNanos / 10);
        SplittableRandom jitter = new SplittableRandom(jitterSeed);
        int step = 0;
        for (Op op : ops) {
            step++;
            long now = ticker.read();
            String where = "step " + step + " (" + op + ") at " + now + " (slice " + model.slice(now) + "), " + config;
            switch (op.kind()) {
                case ADVANCE:
                    // Tenths of a slice, give or take a few nanoseconds, so slice boundaries are hit and straddled.
                    long amount = Math.max(0, op.amount() * tenthOfSlice + jitter.nextLong(-2, 3));
                    ticker.advanceNanos(amount);
                    break;
                case CALL:
                    budget.onCall();
                    model.deposits.add(now);
                    break;
                case TRY:
                    boolean expected = model.tryAcquire(now);
                    assertEquals(expected, budget.tryAcquireRetry(), "tryAcquireRetry, balance " + model.balance(now) + "/1000 before, " + where);
                    if (expected) {
                        long withdrawals = model.inWindow(model.withdrawals, now);
                        long deposits = model.inWindow(model.deposits, now);
                        assertTrue(1000 * withdrawals <= config.permille() * deposits + config.reserveThousandths(),
                                withdrawals + " withdrawals in the window exceed " + config.permille() + "/1000 * " + deposits
                                        + " deposits + the reserve, " + where);
                    }
                    break;
                default:
                    assertEquals(model.available(now), budget.available(), "available, " + where);
            }
            assertEquals(model.denied, budget.deniedCount(), "denials after " + where);
        }
    }

    /** The boundary of the rule, exactly: 999 thousandths of a retry is not a retry, 1000 is. */
    @Example
    void aBalanceJustBelowOneRetryIsRefused() {
        ManualTicker ticker = new ManualTicker();
        RetryBudget budget = RetryBudget.percentOfRequests().percentCanRetry(0.999).ttl(Duration.ofSeconds(10))
                .minRetriesPerSecond(0).ticker(ticker).build();
        budget.onCall(); // 999/1000
        assertEquals(0, budget.available());
        assertEquals(false, budget.tryAcquireRetry());
        budget.onCall(); // 1998/1000
        assertEquals(1, budget.available());
        assertEquals(true, budget.tryAcquireRetry()); // leaves 998/1000
        assertEquals(false, budget.tryAcquireRetry());
        assertEquals(2, budget.deniedCount());
    }

    /**
     * Regression guard: the reserve is kept in exact thousandths. An earlier version rounded it to whole
     * retries, so with a ttl of 1.5 s and one retry per second the documented reserve of
     * {@code minRetriesPerSecond * ttl} = 1.5 retries became 2, and with no traffic a second retry was
     * granted: 2 withdrawals &gt; 0.0 * 0 deposits + 1.5.
     */
    @Example
    void aReserveOfOneAndAHalfRetriesAllowsOneRetryNotTwo() {
        ManualTicker ticker = new ManualTicker();
        RetryBudget budget = RetryBudget.percentOfRequests().percentCanRetry(0.0).ttl(Duration.ofMillis(1500))
                .minRetriesPerSecond(1).ticker(ticker).build();
        int granted = 0;
        for (int i = 0; i < 5; i++) {
            if (budget.tryAcquireRetry()) {
                granted++;
            }
        }
        assertTrue(granted <= 1.5, granted + " retries granted in one window with no traffic; "
                + "the documented bound is percentCanRetry * deposits + minRetriesPerSecond * ttl = 0 + 1 * 1.5");
    }
}
