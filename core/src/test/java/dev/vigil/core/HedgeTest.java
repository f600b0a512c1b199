package dev.vigil.core;

import static dev.vigil.core.TimeoutTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.time.ManualScheduler;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class HedgeTest {
    private final ManualScheduler scheduler = new ManualScheduler();
    private final List<PolicyEvent> events = new CopyOnWriteArrayList<>();
    /** Every attempt the hedge started, in order. */
    private final List<CompletableFuture<String>> attempts = new ArrayList<>();
    private final List<Attempt> contexts = new ArrayList<>();

    private Hedge.Builder hedge() {
        return Hedge.builder().idempotent(true).delay(Duration.ofMillis(50)).scheduler(scheduler).listener(events::add);
    }

    private CompletableFuture<String> call(Hedge hedge) {
        return hedge.<String>callAsync(() -> {
            contexts.add(Attempt.current().orElseThrow());
            CompletableFuture<String> attempt = new CompletableFuture<>();
            attempts.add(attempt);
            return attempt;
        }).toCompletableFuture();
    }

    @Test
    void aFastCallIsNeverHedged() {
        Hedge hedge = hedge().build();
        CompletableFuture<String> result = call(hedge);
        attempts.get(0).complete("fast");
        assertEquals("fast", result.join());
        assertEquals(0, scheduler.pendingTasks(), "the hedge timer is cancelled");
        scheduler.advance(Duration.ofSeconds(1));
        assertEquals(1, attempts.size());
        assertEquals(0, hedge.hedgeCount());
    }

    @Test
    void aSlowCallIsHedgedAfterTheDelayAndTheFirstResultWins() {
        Hedge hedge = hedge().maxHedges(2).build();
        CompletableFuture<String> result = call(hedge);
        scheduler.advance(Duration.ofMillis(49));
        assertEquals(1, attempts.size());
        scheduler.advance(Duration.ofMillis(1));
        assertEquals(2, attempts.size(), "one hedge after 50 ms");
        attempts.get(1).complete("hedge");
        assertEquals("hedge", result.join());
        assertTrue(attempts.get(0).isCancelled(), "the loser is cancelled");
        assertEquals(1, hedge.hedgeWinCount());
        assertEquals(List.of(1, 2), contexts.stream().map(Attempt::number).toList());
        assertFalse(contexts.get(0).isHedge());
        assertTrue(contexts.get(1).isHedge());
        PolicyEvent.HedgeStarted started = (PolicyEvent.HedgeStarted) events.get(0);
        assertEquals(2, started.attempt());
        scheduler.advance(Duration.ofSeconds(1));
        assertEquals(2, attempts.size(), "no hedge after the call ended");
    }

    @Test
    void startsAtMostMaxHedgesOnePerDelay() {
        Hedge hedge = hedge().maxHedges(3).build();
        CompletableFuture<String> result = call(hedge);
        scheduler.advance(Duration.ofMillis(50));
        assertEquals(2, attempts.size());
        scheduler.advance(Duration.ofMillis(50));
        assertEquals(3, attempts.size());
        scheduler.advance(Duration.ofSeconds(10));
        assertEquals(4, attempts.size(), "1 + maxHedges attempts, no more");
        attempts.get(0).complete("first");
        assertEquals("first", result.join());
        for (int i = 1; i < 4; i++) {
            assertTrue(attempts.get(i).isCancelled(), "loser " + i);
        }
        assertEquals(3, hedge.hedgeCount());
        assertEquals(0, hedge.hedgeWinCount());
    }

    @Test
    void aFailedAttemptStartsTheNextHedgeAtOnce() {
        Hedge hedge = hedge().maxHedges(1).build();
        CompletableFuture<String> result = call(hedge);
        attempts.get(0).completeExceptionally(new IOException("down"));
        assertEquals(2, attempts.size(), "no need to wait for the delay");
        attempts.get(1).complete("second");
        assertEquals("second", result.join());
    }

    @Test
    void whenEveryAttemptFailsTheCallFailsWithTheLastFailure() {
        Hedge hedge = hedge().maxHedges(1).build();
        CompletableFuture<String> result = call(hedge);
        scheduler.advance(Duration.ofMillis(50));
        attempts.get(1).completeExceptionally(new IOException("hedge failed"));
        assertFalse(result.isDone(), "the first attempt still runs");
        attempts.get(0).completeExceptionally(new IOException("first failed"));
        CompletionException thrown = assertThrows(CompletionException.class, result::join);
        assertEquals("first failed", thrown.getCause().getMessage());
        assertEquals(1, hedge.failureCount());
    }

    @Test
    void resultsTheClassifierCallsFailuresDoNotWin() {
        Hedge hedge = hedge().classifier(Classifier.builder().failOnResult(String.class, "503"::equals).build()).build();
        CompletableFuture<String> result = call(hedge);
        attempts.get(0).complete("503");
        assertFalse(result.isDone());
        attempts.get(1).complete("200");
        assertEquals("200", result.join());
    }

    @Test
    void hedgesDrawFromTheBudgetAndARefusalIsAttachedToTheFailure() {
        RetryBudget budget = RetryBudget.tokenBucket().name("shared").maxTokens(2).tokenRatio(1.0).build();
        Hedge hedge = hedge().maxHedges(2).budget(budget).build();
        CompletableFuture<String> result = call(hedge);
        attempts.get(0).completeExceptionally(new IOException("down")); // tokens 2 -> 1: not above half
        assertEquals(1, attempts.size(), "the budget refused the hedge");
        CompletionException thrown = assertThrows(CompletionException.class, result::join);
        IOException cause = assertInstanceOf(IOException.class, thrown.getCause());
        assertInstanceOf(RetryBudgetExhaustedException.class, cause.getSuppressed()[0]);
        assertEquals(1, budget.deniedCount());
        scheduler.advance(Duration.ofSeconds(1));
        assertEquals(1, attempts.size(), "no hedge after the refusal");
    }

    @Test
    void aRefusalWhileTheFirstAttemptRunsLetsItFinish() {
        RetryBudget budget = RetryBudget.tokenBucket().maxTokens(2).tokenRatio(1.0).build();
        budget.onFailure(); // 1 token: at half, so no hedges
        Hedge hedge = hedge().maxHedges(2).budget(budget).build();
        CompletableFuture<String> result = call(hedge);
        scheduler.advance(Duration.ofSeconds(1));
        assertEquals(1, attempts.size());
        assertFalse(result.isDone());
        attempts.get(0).complete("slow but fine");
        assertEquals("slow but fine", result.join());
    }

    @Test
    void hedgesOfSlowButSuccessfulCallsStillSpendATokenBucket() {
        // No attempt ever fails, so only the hedges themselves can spend the bucket: each takes a whole
        // token from above the half, so 10 tokens allow 5 hedges, then successes (0.5 each) earn more.
        RetryBudget budget = RetryBudget.tokenBucket().maxTokens(10).tokenRatio(0.5).build();
        Hedge hedge = hedge().budget(budget).build();
        int hedged = 0;
        for (int i = 0; i < 20; i++) {
            int first = attempts.size();
            CompletableFuture<String> result = call(hedge);
            scheduler.advance(Duration.ofMillis(60)); // slower than the 50 ms hedge delay
            hedged += attempts.size() - first - 1;
            attempts.get(first).complete("slow");
            assertEquals("slow", result.join());
        }
        // Bound: hedges <= tokenRatio * calls + maxTokens / 2 = 0.5 * 20 + 5.
        assertTrue(hedged <= 15, "hedges " + hedged);
        assertEquals(hedged, hedge.hedgeCount());
        assertTrue(budget.deniedCount() > 0, "the budget refused some hedges");
    }

    @Test
    void aRetryAroundAHedgeWithTheSameBudgetCountsEachCallOnce() throws Exception {
        RetryBudget budget = RetryBudget.percentOfRequests().percentCanRetry(0.5).minRetriesPerSecond(0)
                .ticker(scheduler.ticker()).build();
        Retry retry = Retry.builder().scheduler(scheduler).backoff(Backoff.none()).maxAttempts(2).budget(budget).build();
        Hedge hedge = hedge().budget(budget).build();
        Policy both = Pipeline.of(retry, hedge);
        for (int i = 0; i < 4; i++) {
            CompletableFuture<String> result = both.<String>callAsync(() -> CompletableFuture.completedFuture("ok")).toCompletableFuture();
            assertEquals("ok", result.join());
        }
        assertEquals(2, budget.available(), "4 calls counted once each (0.5 retry per call), not 8 times");
    }

    @Test
    void aRefusalIsAttachedOnceToAnExceptionThrownAgainAndAgain() {
        RetryBudget budget = RetryBudget.tokenBucket().maxTokens(2).tokenRatio(1.0).build();
        budget.onFailure();
        IOException cached = new IOException("cached");
        Hedge hedge = hedge().budget(budget).build();
        for (int i = 0; i < 3; i++) {
            CompletableFuture<String> result = hedge.<String>callAsync(() -> CompletableFuture.failedFuture(cached)).toCompletableFuture();
            assertThrows(CompletionException.class, result::join);
        }
        assertEquals(1, cached.getSuppressed().length, "not one refusal per call");
    }

    @Test
    void cancellingTheCallCancelsEveryAttemptAndTheTimer() {
        Hedge hedge = hedge().maxHedges(2).build();
        CompletableFuture<String> result = call(hedge);
        scheduler.advance(Duration.ofMillis(50));
        assertTrue(result.cancel(true));
        assertTrue(attempts.get(0).isCancelled());
        assertTrue(attempts.get(1).isCancelled());
        assertEquals(0, scheduler.pendingTasks());
        assertThrows(CancellationException.class, result::join);
    }

    @Test
    void anAttemptCancelledByOthersCountsAsFailed() {
        Hedge hedge = hedge().maxHedges(1).build();
        CompletableFuture<String> result = call(hedge);
        attempts.get(0).cancel(true); // not by the hedge: that attempt is simply lost
        assertEquals(2, attempts.size());
        attempts.get(1).complete("ok");
        assertEquals("ok", result.join());
    }

    @Test
    void theAdaptiveDelayFollowsThePercentileOfRecentLatencies() {
        Hedge hedge = hedge().adaptiveDelay(0.9, Duration.ofMillis(500)).build();
        assertEquals(Duration.ofMillis(500), hedge.currentDelay(), "the initial delay until enough samples");
        for (int i = 1; i <= 100; i++) {
            int first = attempts.size();
            CompletableFuture<String> result = call(hedge);
            scheduler.advance(Duration.ofMillis(i)); // the first attempt's latency: 1..100 ms
            attempts.get(first).complete("ok");
            assertEquals("ok", result.join());
        }
        assertTrue(hedge.hedgeCount() > 0, "once the estimate fell below the slower calls, they were hedged");
        assertEquals(0, hedge.hedgeWinCount(), "the hedges never answered, the first attempts won");
        // The estimate is recomputed every 32 samples: after 96, the p90 of 1..96 ms is the 87th smallest.
        assertEquals(Duration.ofMillis(87), hedge.currentDelay());
    }

    @Test
    void synchronousCallsAreRefusedWithAnExplanation() {
        Hedge hedge = hedge().build();
        UnsupportedOperationException thrown = assertThrows(UnsupportedOperationException.class, () -> hedge.call(() -> "x"));
        assertTrue(thrown.getMessage().contains("callAsync"), thrown.getMessage());
    }

    @Test
    void worksInsideAPipeline() {
        Hedge hedge = hedge().build();
        CountingAdmission admission = new CountingAdmission("inner");
        CompletableFuture<String> result = Pipeline.of(hedge, admission).<String>callAsync(() -> {
            CompletableFuture<String> attempt = new CompletableFuture<>();
            attempts.add(attempt);
            return attempt;
        }).toCompletableFuture();
        scheduler.advance(Duration.ofMillis(50));
        attempts.get(1).complete("hedge");
        assertEquals("hedge", result.join());
        assertEquals(2, admission.admitted.get(), "each attempt passes the inner admission policy");
        assertEquals(1, admission.completed.get());
        assertEquals(1, admission.released.get(), "the cancelled loser releases its permit");
    }

    @Test
    void badInputIsRejectedWithTheParameterAndRange() {
        assertMessage("idempotent must be true", () -> Hedge.builder().delay(Duration.ofMillis(10)).build());
        assertMessage("delay must not be null", () -> Hedge.builder().idempotent(true).build());
        assertMessage("maxHedges must be in [1, 100], was 0", () -> Hedge.builder().maxHedges(0));
        assertMessage("delay must be in [", () -> Hedge.builder().delay(Duration.ofMillis(-1)));
        assertMessage("percentile must be in (0.0, 1.0), was 1.0", () -> Hedge.builder().adaptiveDelay(1.0, Duration.ZERO));
        assertMessage("percentile must be in (0.0, 1.0), was NaN", () -> Hedge.builder().adaptiveDelay(Double.NaN, Duration.ZERO));
        assertMessage("budget must not be null", () -> Hedge.builder().budget(null));
        assertMessage("call must not be null", () -> hedge().build().callAsync(null));
    }
}
