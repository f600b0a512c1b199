package dev.vigil.core;

import dev.vigil.core.testing.VirtualThreads;
import static dev.vigil.core.TimeoutTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.time.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Behaviour of the two built-in {@link RetryBudget}s, in virtual time ({@link ManualTicker}), and a
 * few concurrency stress tests whose operations commute, so that the final state is exact.
 */
class RetryBudgetTest {
    private static final long SLICE = Duration.ofMillis(100).toNanos(); // ttl 1 s / 10

    private final ManualTicker ticker = new ManualTicker();

    private static double tokens(RetryBudget budget) {
        return ((TokenBucketBudget) budget).tokens();
    }

    private static RetryBudget bucket(int maxTokens, double tokenRatio) {
        return RetryBudget.tokenBucket().name("bucket").maxTokens(maxTokens).tokenRatio(tokenRatio).build();
    }

    /** A budget over recent requests with a 1 s ttl (slices of 100 ms) on the test's ticker. */
    private RetryBudget recent(double percentCanRetry, int minRetriesPerSecond) {
        return RetryBudget.percentOfRequests().name("recent").percentCanRetry(percentCanRetry)
                .ttl(Duration.ofSeconds(1)).minRetriesPerSecond(minRetriesPerSecond).ticker(ticker).build();
    }

    private static void calls(RetryBudget budget, int n) {
        for (int i = 0; i < n; i++) {
            budget.onCall();
        }
    }

    // ================================================================ token bucket

    @Test
    void tokenBucketStartsFull() {
        RetryBudget budget = bucket(4, 0.5);
        assertEquals(4.0, tokens(budget));
        assertEquals(2, budget.available(), "two tokens above the half-way mark");
        assertTrue(budget.tryAcquireRetry());
        assertEquals(0, budget.deniedCount());
        assertEquals("bucket", budget.name());
    }

    @Test
    void tokenBucketDefaults() {
        RetryBudget budget = RetryBudget.tokenBucket().build();
        assertEquals("retry-budget", budget.name());
        assertEquals("RetryBudget[retry-budget, token bucket, tokens=10.0 of 10, ratio=0.1]", budget.toString());
        assertEquals(5, budget.available());
        budget.onFailure();
        budget.onSuccess();
        assertEquals(9.1, tokens(budget), 1e-9, "a success returns 0.1 token by default");
    }

    @Test
    void aFailureCostsOneTokenAndNeverGoesBelowZero() {
        RetryBudget budget = bucket(4, 0.5);
        budget.onFailure();
        assertEquals(3.0, tokens(budget));
        budget.onFailure();
        assertEquals(2.0, tokens(budget));
        for (int i = 0; i < 5; i++) {
            budget.onFailure();
        }
        assertEquals(0.0, tokens(budget));
        assertEquals(0, budget.available());
    }

    @Test
    void aSuccessReturnsTheRatioCappedAtTheMaximum() {
        RetryBudget budget = bucket(4, 0.5);
        for (int i = 0; i < 4; i++) {
            budget.onFailure();
        }
        budget.onSuccess();
        assertEquals(0.5, tokens(budget));
        budget.onSuccess();
        assertEquals(1.0, tokens(budget));
        for (int i = 0; i < 5; i++) {
            budget.onSuccess();
        }
        assertEquals(3.5, tokens(budget));
        budget.onSuccess();
        budget.onSuccess();
        assertEquals(4.0, tokens(budget), "capped at maxTokens");
        budget.onSuccess();
        assertEquals(4.0, tokens(budget), "a success on a full bucket changes nothing");
    }

    @Test
    void retriesOnlyWhileTokensAreAboveHalf() {
        RetryBudget budget = bucket(3, 0.5); // half is 1.5
        budget.onFailure(); // 2.0
        assertTrue(budget.tryAcquireRetry());
        assertEquals(1, budget.available());
        budget.onFailure(); // 1.0
        assertFalse(budget.tryAcquireRetry());
        assertEquals(0, budget.available());
        budget.onSuccess(); // 1.5: exactly half is not enough
        assertEquals(1.5, tokens(budget));
        assertFalse(budget.tryAcquireRetry());
        assertEquals(0, budget.available());
        budget.onSuccess(); // 2.0
        assertTrue(budget.tryAcquireRetry());
        assertEquals(1, budget.available());
        assertEquals(2, budget.deniedCount(), "each refusal counted once");
    }

    @Test
    void availableRoundsTheTokensAboveHalfUp() {
        RetryBudget budget = bucket(10, 0.1); // half is 5
        assertEquals(5, budget.available());
        budget.onFailure(); // 9
        budget.onFailure(); // 8
        budget.onFailure(); // 7
        budget.onFailure(); // 6
        budget.onFailure(); // 5
        assertEquals(0, budget.available());
        budget.onSuccess(); // 5.1
        assertEquals(1, budget.available(), "any fraction above half allows one retry");
        assertTrue(budget.tryAcquireRetry());
    }

    @Test
    void retriesAndCallsTakeNoTokensThemselves() {
        RetryBudget budget = bucket(4, 0.5);
        budget.onFailure();
        for (int i = 0; i < 100; i++) {
            budget.onCall();
            assertTrue(budget.tryAcquireRetry());
        }
        assertEquals(3.0, tokens(budget), "only failures take tokens; the failure before a retry paid for it");
        assertEquals(0, budget.deniedCount());
    }

    @Test
    void deniedCountCountsEveryRefusal() {
        RetryBudget budget = bucket(2, 0.5);
        budget.onFailure(); // 1.0 = half
        for (int i = 0; i < 7; i++) {
            assertFalse(budget.tryAcquireRetry());
        }
        assertEquals(7, budget.deniedCount());
        budget.onSuccess(); // 1.5
        assertTrue(budget.tryAcquireRetry());
        assertEquals(7, budget.deniedCount(), "an allowed retry is not counted");
    }

    @Test
    void tokenRatioIsKeptToThreeDecimalPlaces() {
        RetryBudget down = bucket(1, 0.0014);
        down.onFailure();
        down.onSuccess();
        assertEquals(0.001, tokens(down));
        assertTrue(down.toString().endsWith("ratio=0.001]"), down.toString());
        RetryBudget up = bucket(1, 0.0016);
        up.onFailure();
        up.onSuccess();
        assertEquals(0.002, tokens(up));
    }

    @Test
    void tokenBucketToStringShowsNameTokensAndRatio() {
        RetryBudget budget = bucket(4, 0.5);
        budget.onFailure();
        budget.onSuccess();
        assertEquals("RetryBudget[bucket, token bucket, tokens=3.5 of 4, ratio=0.5]", budget.toString());
    }

    /**
     * The documented bound {@code retries <= tokenRatio * calls + maxTokens / 2}, over seeded runs of the
     * protocol a retry policy follows (each call: attempts until a success or a refused retry).
     */
    @Test
    void tokenBucketRetriesStayWithinTheDocumentedBound() {
        int[] maxTokens = {1, 2, 3, 10, 100};
        double[] ratios = {0.001, 0.1, 0.5, 1.0, 3.0};
        double[] failureRates = {0.3, 0.7, 0.95, 1.0};
        for (int t : maxTokens) {
            for (double ratio : ratios) {
                for (double failureRate : failureRates) {
                    RetryBudget budget = bucket(t, ratio);
                    SplittableRandom random = new SplittableRandom(31L * t + Double.hashCode(ratio) + Double.hashCode(failureRate));
                    int calls = 2_000;
                    long retries = 0;
                    for (int call = 0; call < calls; call++) {
                        budget.onCall();
                        for (;;) {
                            if (random.nextDouble() >= failureRate) {
                                budget.onSuccess();
                                break;
                            }
                            budget.onFailure();
                            if (!budget.tryAcquireRetry()) {
                                break;
                            }
                            retries++;
                        }
                    }
                    double bound = ratio * calls + t / 2.0;
                    String where = "maxTokens " + t + ", ratio " + ratio + ", failure rate " + failureRate;
                    assertTrue(retries <= bound, where + ": " + retries + " retries > bound " + bound);
                    if (failureRate == 1.0) {
                        // Nothing but failures: a retry for each failure that leaves more than half.
                        assertEquals((t - 1) / 2, retries, where);
                    }
                }
            }
        }
    }

    // ================================================================ percent of requests

    @Test
    void theReserveAllowsRetriesWithNoTraffic() {
        RetryBudget budget = recent(0.2, 2); // reserve 2/s * 1 s
        assertEquals(2, budget.available());
        assertTrue(budget.tryAcquireRetry());
        assertEquals(1, budget.available());
        assertTrue(budget.tryAcquireRetry());
        assertEquals(0, budget.available());
        assertFalse(budget.tryAcquireRetry());
        assertEquals(1, budget.deniedCount());
    }

    @Test
    void theReserveIsMinRetriesPerSecondTimesTtl() {
        RetryBudget budget = RetryBudget.percentOfRequests().percentCanRetry(0.0).minRetriesPerSecond(3)
                .ttl(Duration.ofSeconds(10)).ticker(ticker).build();
        assertEquals(30, budget.available());
        for (int i = 0; i < 30; i++) {
            assertTrue(budget.tryAcquireRetry(), "retry " + i);
        }
        assertFalse(budget.tryAcquireRetry());
    }

    @Test
    void noReserveAndNoTrafficAllowsNoRetry() {
        RetryBudget budget = recent(0.5, 0);
        assertEquals(0, budget.available());
        assertFalse(budget.tryAcquireRetry());
        assertEquals(1, budget.deniedCount());
    }

    @Test
    void eachCallEarnsPercentCanRetry() {
        RetryBudget budget = recent(0.2, 0);
        calls(budget, 4);
        assertEquals(0, budget.available(), "4 * 0.2 = 0.8 of a retry");
        assertFalse(budget.tryAcquireRetry());
        budget.onCall();
        assertEquals(1, budget.available(), "5 * 0.2 = 1 retry");
        assertTrue(budget.tryAcquireRetry());
        assertFalse(budget.tryAcquireRetry());
        calls(budget, 12);
        assertEquals(2, budget.available(), "17 * 0.2 - 1 = 2.4 retries");
    }

    @Test
    void percentCanRetryAboveOneEarnsSeveralRetriesPerCall() {
        RetryBudget budget = recent(2.5, 0);
        budget.onCall();
        assertEquals(2, budget.available());
        budget.onCall();
        assertEquals(5, budget.available());
    }

    @Test
    void percentCanRetryIsKeptToThreeDecimalPlaces() {
        RetryBudget roundedToZero = recent(0.0004, 0);
        calls(roundedToZero, 5_000);
        assertEquals(0, roundedToZero.available(), "0.0004 is kept as 0.000");
        RetryBudget roundedUp = recent(0.0006, 0);
        calls(roundedUp, 999);
        assertEquals(0, roundedUp.available());
        roundedUp.onCall();
        assertEquals(1, roundedUp.available(), "0.0006 is kept as 0.001: 1000 calls earn a retry");
    }

    @Test
    void onSuccessAndOnFailureDoNotChangeTheBudget() {
        RetryBudget budget = recent(0.5, 1);
        for (int i = 0; i < 50; i++) {
            budget.onSuccess();
            budget.onFailure();
        }
        assertEquals(1, budget.available());
    }

    @Test
    void depositsExpireAfterTheTtl() {
        RetryBudget budget = recent(0.5, 0);
        calls(budget, 2); // slice 0
        assertEquals(1, budget.available());
        ticker.advanceNanos(Duration.ofSeconds(1).toNanos() - 1); // last nanosecond of slice 9
        assertEquals(1, budget.available());
        ticker.advanceNanos(1); // slice 10: slice 0 left the window
        assertEquals(0, budget.available());
        assertFalse(budget.tryAcquireRetry());
    }

    @Test
    void depositsAreAgedBySliceOfOneTenthOfTheTtl() {
        RetryBudget budget = recent(0.5, 0);
        ticker.advanceNanos(SLICE - 1); // still slice 0
        calls(budget, 2);
        ticker.advanceNanos(1); // slice 1
        calls(budget, 2);
        assertEquals(2, budget.available());
        ticker.advanceTo(Duration.ofSeconds(1).toNanos() - 1);
        assertEquals(2, budget.available());
        ticker.advanceNanos(1); // slice 10: the calls made 1 ns before slice 1 expire 900 ms + 1 ns after they were made
        assertEquals(1, budget.available());
        ticker.advanceTo(Duration.ofMillis(1100).toNanos() - 1);
        assertEquals(1, budget.available());
        ticker.advanceNanos(1); // slice 11
        assertEquals(0, budget.available());
    }

    @Test
    void theWindowAddsUpTheLastTenSlices() {
        RetryBudget budget = recent(0.5, 0);
        for (int slice = 0; slice < 10; slice++) {
            budget.onCall();
            ticker.advanceNanos(SLICE);
        }
        // Now in slice 10: slice 0 has left the window, slices 1..9 hold 9 calls.
        assertEquals(4, budget.available(), "9 * 0.5 = 4.5");
        budget.onCall();
        assertEquals(5, budget.available(), "10 * 0.5");
    }

    @Test
    void withdrawalsExpireAfterTheTtlToo() {
        RetryBudget budget = recent(0.0, 1);
        assertTrue(budget.tryAcquireRetry()); // slice 0
        assertFalse(budget.tryAcquireRetry());
        ticker.advanceNanos(Duration.ofSeconds(1).toNanos() - 1);
        assertFalse(budget.tryAcquireRetry(), "the withdrawal still counts at the end of the window");
        ticker.advanceNanos(1);
        assertEquals(1, budget.available());
        assertTrue(budget.tryAcquireRetry(), "the withdrawal expired with its slice");
        assertEquals(2, budget.deniedCount());
    }

    @Test
    void aBalanceDrivenNegativeByExpiredDepositsRecoversWhenTheWithdrawalsExpire() {
        RetryBudget budget = recent(0.5, 1);
        calls(budget, 2); // slice 0: reserve 1 + 1 earned
        ticker.advanceNanos(5 * SLICE);
        assertTrue(budget.tryAcquireRetry()); // slice 5
        assertTrue(budget.tryAcquireRetry());
        assertFalse(budget.tryAcquireRetry());
        ticker.advanceTo(10 * SLICE); // the deposits expired, the withdrawals did not: 1 + 0 - 2
        assertEquals(0, budget.available(), "never negative");
        assertFalse(budget.tryAcquireRetry());
        ticker.advanceTo(15 * SLICE); // the withdrawals expired too
        assertEquals(1, budget.available());
        assertTrue(budget.tryAcquireRetry());
    }

    @Test
    void afterALongIdleTheStaleSlicesCountZeroAndAreReused() {
        RetryBudget budget = recent(0.5, 0);
        calls(budget, 6); // slot 0
        ticker.advanceNanos(4 * SLICE);
        assertTrue(budget.tryAcquireRetry());
        ticker.advanceTo(Duration.ofHours(5).toNanos()); // slice 180,000: slot 0 again
        assertEquals(0, budget.available(), "everything expired");
        calls(budget, 2); // reuses the cells of slices long gone: counting restarts at one
        assertEquals(1, budget.available());
        assertTrue(budget.tryAcquireRetry());
        assertFalse(budget.tryAcquireRetry());
    }

    @Test
    void negativeTickerReadingsWork() {
        ManualTicker negative = new ManualTicker(-Duration.ofMillis(50).toNanos()); // slice -1
        RetryBudget budget = RetryBudget.percentOfRequests().percentCanRetry(0.5).minRetriesPerSecond(0)
                .ttl(Duration.ofSeconds(1)).ticker(negative).build();
        calls(budget, 2);
        negative.advanceTo(0); // slice 0
        calls(budget, 2);
        assertEquals(2, budget.available());
        negative.advanceTo(9 * SLICE - 1); // slice 8: slice -1 still in the window
        assertEquals(2, budget.available());
        negative.advanceTo(9 * SLICE); // slice 9: slice -1 left it
        assertEquals(1, budget.available());
    }

    @Test
    void slicesBeyondTheRangeOfAnIntWork() {
        ManualTicker late = new ManualTicker(1_000_000_000_000_000_000L); // slice 10^10 > 2^32
        RetryBudget budget = RetryBudget.percentOfRequests().percentCanRetry(0.5).minRetriesPerSecond(0)
                .ttl(Duration.ofSeconds(1)).ticker(late).build();
        calls(budget, 4);
        late.advanceNanos(SLICE);
        calls(budget, 2);
        assertEquals(3, budget.available());
        assertTrue(budget.tryAcquireRetry());
        assertEquals(2, budget.available());
        late.advanceNanos(9 * SLICE);
        assertEquals(0, budget.available(), "2 * 0.5 - 1: the first slice's calls expired");
        late.advanceNanos(SLICE);
        assertEquals(0, budget.available());
        calls(budget, 2);
        assertEquals(1, budget.available());
    }

    /**
     * The class documents that its 32-bit slice index aliases after 2^32 slices; a cell untouched for
     * 2^31 slices (about 6.8 years with a 1 s ttl, 68 years with 10 s) must still be treated as stale,
     * not as newer than the current slice.
     */
    @Test
    void aCellIdleForHalfTheSliceIndexRangeIsStillStale() {
        RetryBudget budget = recent(0.5, 1);
        budget.onCall(); // cell of slot 0 now holds slice 0
        long slice = (1L << 31) + 2; // a multiple of 10 past 2^31: the same slot
        ticker.advanceTo(slice * SLICE);
        calls(budget, 2);
        assertEquals(2, budget.available(), "reserve 1 + 2 * 0.5");
        assertTrue(budget.tryAcquireRetry());
        assertEquals(1, budget.available());
    }

    @Test
    void percentOfRequestsDefaults() {
        RetryBudget budget = RetryBudget.percentOfRequests().ticker(ticker).build();
        assertEquals("retry-budget", budget.name());
        assertEquals(100, budget.available(), "10/s over 10 s");
        assertEquals("RetryBudget[retry-budget, 20.0% of requests over PT10S + 10/s, available=100]", budget.toString());
        calls(budget, 5);
        assertEquals(101, budget.available(), "20% of a retry per call");
    }

    @Test
    void percentOfRequestsToString() {
        RetryBudget budget = recent(0.5, 1);
        calls(budget, 4);
        assertEquals("RetryBudget[recent, 50.0% of requests over PT1S + 1/s, available=3]", budget.toString());
    }

    /** Within one window, retries never exceed the reserve plus percentCanRetry of the calls. */
    @Test
    void percentOfRequestsRetriesStayWithinTheDocumentedBound() {
        SplittableRandom random = new SplittableRandom(7);
        RetryBudget budget = recent(0.3, 2);
        long calls = 0;
        long retries = 0;
        long refused = 0;
        for (int i = 0; i < 5_000; i++) {
            long thousandths = 2_000 + 300 * calls - 1_000 * retries; // reserve + 0.3 * calls - retries
            if (random.nextInt(3) == 0) {
                budget.onCall();
                calls++;
            } else if (budget.tryAcquireRetry()) {
                assertTrue(thousandths >= 1_000, "step " + i + ": granted with a balance of " + thousandths);
                retries++;
            } else {
                assertTrue(thousandths < 1_000, "step " + i + ": refused with a balance of " + thousandths);
                refused++;
            }
            assertEquals(Math.max(0, 2_000 + 300 * calls - 1_000 * retries) / 1_000, budget.available(), "step " + i);
        }
        assertTrue(retries > 300 && refused > 300, retries + " granted, " + refused + " refused");
        assertEquals(refused, budget.deniedCount());
    }

    // ================================================================ both

    @Test
    void exhaustedNamesTheBudgetAndIsStackless() {
        for (RetryBudget budget : List.of(bucket(2, 0.5), recent(0.5, 1))) {
            RetryBudgetExhaustedException first = budget.exhausted();
            assertEquals(budget.name(), first.policyName());
            assertEquals("retry budget '" + budget.name() + "' is exhausted: retry not attempted", first.getMessage());
            assertEquals(0, first.getStackTrace().length, "stackless");
            assertEquals(Optional.empty(), first.retryAfter());
            assertEquals(-1L, first.retryAfterNanos());
            assertNotSame(first, budget.exhausted(), "a new exception each time");
        }
    }

    @Test
    void exhaustedUsesTheConfiguredName() {
        RetryBudget budget = RetryBudget.percentOfRequests().name("payments").ticker(ticker).build();
        assertEquals("payments", budget.exhausted().policyName());
    }

    // ================================================================ builders

    @Test
    void tokenBucketBuilderRejectsBadInput() {
        RetryBudget.TokenBucketBuilder builder = RetryBudget.tokenBucket();
        assertMessage("maxTokens must be in [1, 1000000], was 0", () -> builder.maxTokens(0));
        assertMessage("maxTokens must be in [1, 1000000], was -3", () -> builder.maxTokens(-3));
        assertMessage("maxTokens must be in [1, 1000000], was 1000001", () -> builder.maxTokens(1_000_001));
        assertMessage("tokenRatio must be in [0.001, 1000.0], was 0.0", () -> builder.tokenRatio(0.0));
        assertMessage("tokenRatio must be in [0.001, 1000.0], was -0.5", () -> builder.tokenRatio(-0.5));
        assertMessage("tokenRatio must be in [0.001, 1000.0], was 9.0E-4", () -> builder.tokenRatio(0.0009));
        assertMessage("tokenRatio must be in [0.001, 1000.0], was 1000.5", () -> builder.tokenRatio(1000.5));
        assertMessage("tokenRatio must be in [0.001, 1000.0], was NaN", () -> builder.tokenRatio(Double.NaN));
        assertMessage("tokenRatio must be in [0.001, 1000.0], was Infinity", () -> builder.tokenRatio(Double.POSITIVE_INFINITY));
        assertMessage("name must not be null or blank, was \" \"", () -> builder.name(" "));
        assertMessage("name must not be null or blank, was null", () -> builder.name(null));
        // The failed calls left the builder as it was.
        assertEquals("RetryBudget[retry-budget, token bucket, tokens=10.0 of 10, ratio=0.1]", builder.build().toString());
    }

    @Test
    void tokenBucketBuilderAcceptsTheBoundsOfEachRange() {
        assertEquals(1.0, tokens(bucket(1, 0.001)));
        assertEquals(1_000_000.0, tokens(bucket(1_000_000, 1000.0)));
        RetryBudget generous = bucket(4, 1000.0);
        for (int i = 0; i < 4; i++) {
            generous.onFailure();
        }
        generous.onSuccess();
        assertEquals(4.0, tokens(generous), "one success refills the whole bucket, capped");
    }

    @Test
    void percentOfRequestsBuilderRejectsBadInput() {
        RetryBudget.PercentOfRequestsBuilder builder = RetryBudget.percentOfRequests();
        assertMessage("percentCanRetry must be in [0.0, 10.0], was -0.01", () -> builder.percentCanRetry(-0.01));
        assertMessage("percentCanRetry must be in [0.0, 10.0], was 10.5", () -> builder.percentCanRetry(10.5));
        assertMessage("percentCanRetry must be in [0.0, 10.0], was NaN", () -> builder.percentCanRetry(Double.NaN));
        assertMessage("ttl must be in [PT1S, PT1H], was PT0.999S", () -> builder.ttl(Duration.ofMillis(999)));
        assertMessage("ttl must be in [PT1S, PT1H], was PT0S", () -> builder.ttl(Duration.ZERO));
        assertMessage("ttl must be in [PT1S, PT1H], was PT-10S", () -> builder.ttl(Duration.ofSeconds(-10)));
        assertMessage("ttl must be in [PT1S, PT1H], was PT1H0.000000001S", () -> builder.ttl(Duration.ofHours(1).plusNanos(1)));
        assertMessage("ttl must not be null", () -> builder.ttl(null));
        assertMessage("minRetriesPerSecond must be in [0, 1000000], was -1", () -> builder.minRetriesPerSecond(-1));
        assertMessage("minRetriesPerSecond must be in [0, 1000000], was 1000001", () -> builder.minRetriesPerSecond(1_000_001));
        assertMessage("name must not be null or blank, was \"\"", () -> builder.name(""));
        assertMessage("name must not be null or blank, was \"\t\"", () -> builder.name("\t"));
        assertMessage("name must not be null or blank, was null", () -> builder.name(null));
        assertMessage("ticker must not be null", () -> builder.ticker(null));
        RetryBudget unchanged = builder.ticker(ticker).build();
        assertEquals("RetryBudget[retry-budget, 20.0% of requests over PT10S + 10/s, available=100]", unchanged.toString());
    }

    @Test
    void percentOfRequestsBuilderAcceptsTheBoundsOfEachRange() {
        RetryBudget smallest = RetryBudget.percentOfRequests().percentCanRetry(0.0).ttl(Duration.ofSeconds(1))
                .minRetriesPerSecond(0).ticker(ticker).build();
        calls(smallest, 100);
        assertEquals(0, smallest.available());
        RetryBudget largest = RetryBudget.percentOfRequests().percentCanRetry(10.0).ttl(Duration.ofHours(1))
                .minRetriesPerSecond(1_000_000).ticker(ticker).build();
        assertEquals(3_600_000_000L, largest.available(), "1,000,000/s over an hour");
        largest.onCall();
        assertEquals(3_600_000_010L, largest.available());
    }

    // ================================================================ concurrency

    @Test
    void concurrentFailuresEachTakeExactlyOneToken() throws Exception {
        RetryBudget budget = bucket(100_000, 0.5);
        hammer(4, 10_000, (b, random) -> b.onFailure(), budget);
        assertEquals(60_000.0, tokens(budget), "100,000 - 4 * 10,000");
        RetryBudget small = bucket(1_000, 0.5);
        hammer(4, 10_000, (b, random) -> b.onFailure(), small);
        assertEquals(0.0, tokens(small), "clamped at zero");
    }

    @Test
    void concurrentSuccessesEachReturnExactlyTheRatio() throws Exception {
        RetryBudget budget = bucket(100_000, 0.5);
        for (int i = 0; i < 100_000; i++) {
            budget.onFailure();
        }
        hammer(4, 10_000, (b, random) -> b.onSuccess(), budget);
        assertEquals(20_000.0, tokens(budget), "4 * 10,000 * 0.5");
        hammer(4, 50_000, (b, random) -> b.onSuccess(), budget);
        assertEquals(100_000.0, tokens(budget), "clamped at the maximum");
    }

    /**
     * A seeded mix of failures, successes and retry requests from several threads, starting half-way so
     * the count never reaches a clamp: the operations then commute and the final count is exact. A
     * sampler checks the count stays in range throughout, and every refusal is counted.
     */
    @Test
    void aConcurrentMixEndsAtTheExactCount() throws Exception {
        runTheMix(Executors.newFixedThreadPool(4), 4);
    }

    @Test
    void aConcurrentMixOnVirtualThreadsEndsAtTheExactCount() throws Exception {
        runTheMix(VirtualThreads.executor(), 64);
    }

    private static void runTheMix(ExecutorService executor, int workers) throws Exception {
        int max = 1_000_000;
        RetryBudget budget = bucket(max, 0.5);
        for (int i = 0; i < max / 2 + 10_000; i++) {
            budget.onFailure(); // 490,000: just under half, so retries start refused
        }
        int perWorker = 160_000 / workers;
        AtomicLong failures = new AtomicLong();
        AtomicLong successes = new AtomicLong();
        AtomicLong refusals = new AtomicLong();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong outOfRange = new AtomicLong();
        Thread sampler = new Thread(() -> {
            while (running.get()) {
                double now = tokens(budget);
                if (now < 0 || now > max) {
                    outOfRange.incrementAndGet();
                }
            }
        });
        sampler.start();
        try {
            hammer(executor, workers, perWorker, (b, random) -> {
                int op = random.nextInt(3);
                if (op == 0) {
                    b.onFailure();
                    failures.incrementAndGet();
                } else if (op == 1) {
                    b.onSuccess();
                    successes.incrementAndGet();
                } else if (!b.tryAcquireRetry()) {
                    refusals.incrementAndGet();
                }
            }, budget);
        } finally {
            running.set(false);
            sampler.join();
        }
        assertEquals(0, outOfRange.get(), "the token count left [0, max]");
        double expected = 490_000 - failures.get() + 0.5 * successes.get();
        assertEquals(expected, tokens(budget), "no update lost or applied twice");
        assertEquals(refusals.get(), budget.deniedCount());
        assertTrue(refusals.get() > 0, "the mix started below half: some retries were refused");
    }

    @Test
    void concurrentRetriesNeverOverdrawARecentRequestsBudget() throws Exception {
        RetryBudget budget = recent(0.5, 5);
        calls(budget, 199_990); // reserve 5 + 99,995 earned
        AtomicLong granted = new AtomicLong();
        hammer(4, 50_000, (b, random) -> {
            if (b.tryAcquireRetry()) {
                granted.incrementAndGet();
            }
        }, budget);
        assertEquals(100_000, granted.get(), "exactly the balance, no more, no less");
        assertEquals(100_000, budget.deniedCount());
        assertEquals(0, budget.available());
    }

    @Test
    void concurrentCallsAreAllCounted() throws Exception {
        RetryBudget budget = recent(0.5, 0);
        hammer(4, 10_000, (b, random) -> b.onCall(), budget);
        assertEquals(20_000, budget.available(), "40,000 calls * 0.5");
    }

    private interface Step {
        void run(RetryBudget budget, SplittableRandom random);
    }

    private static void hammer(int threads, int stepsPerThread, Step step, RetryBudget budget) throws Exception {
        hammer(Executors.newFixedThreadPool(threads), threads, stepsPerThread, step, budget);
    }

    /** Runs {@code step} on {@code workers} tasks at once, each with its own seeded random; shuts the executor down. */
    private static void hammer(ExecutorService executor, int workers, int stepsPerWorker, Step step, RetryBudget budget)
            throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        try {
            for (int w = 0; w < workers; w++) {
                long seed = 500L + w;
                futures.add(executor.submit(() -> {
                    start.await();
                    SplittableRandom random = new SplittableRandom(seed);
                    for (int i = 0; i < stepsPerWorker; i++) {
                        step.run(budget, random);
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> future : futures) {
                future.get(60, TimeUnit.SECONDS);
            }
        } finally {
            executor.shutdownNow();
        }
    }
}
