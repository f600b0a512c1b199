package dev.vigil.core;

import static dev.vigil.core.TimeoutTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
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
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RetryTest {
    private final ManualScheduler scheduler = new ManualScheduler();
    private final List<PolicyEvent> events = new CopyOnWriteArrayList<>();

    private Retry.Builder retry() {
        return Retry.builder().scheduler(scheduler).backoff(Backoff.fixed(Duration.ofMillis(100))).listener(events::add);
    }

    /** A call that fails {@code failures} times with an IOException, then returns "ok". */
    private static java.util.concurrent.Callable<String> failing(int failures, AtomicInteger calls) {
        return () -> {
            if (calls.incrementAndGet() <= failures) {
                throw new IOException("failure " + calls.get());
            }
            return "ok";
        };
    }

    @Test
    void retriesUntilSuccessWaitingTheBackoffInVirtualTime() throws Exception {
        Retry retry = retry().maxAttempts(3).build();
        AtomicInteger calls = new AtomicInteger();
        long start = scheduler.ticker().read();
        assertEquals("ok", retry.call(failing(2, calls)));
        assertEquals(3, calls.get());
        assertEquals(Duration.ofMillis(200).toNanos(), scheduler.ticker().read() - start, "two waits of 100 ms");
        assertEquals(1, retry.successAfterRetryCount());
        assertEquals(2, retry.retryCount());
        assertEquals(0, retry.successCount());
        List<Integer> scheduled = new ArrayList<>();
        for (PolicyEvent event : events) {
            if (event instanceof PolicyEvent.RetryScheduled) {
                PolicyEvent.RetryScheduled s = (PolicyEvent.RetryScheduled) event;
                scheduled.add(s.attempt());
                assertEquals(Duration.ofMillis(100), s.delay());
                assertInstanceOf(IOException.class, s.failure());
            }
        }
        assertEquals(List.of(2, 3), scheduled);
    }

    @Test
    void givesUpAfterMaxAttemptsWithTheLastFailure() {
        Retry retry = retry().maxAttempts(3).build();
        AtomicInteger calls = new AtomicInteger();
        IOException thrown = assertThrows(IOException.class, () -> retry.call(failing(10, calls)));
        assertEquals("failure 3", thrown.getMessage());
        assertEquals(3, calls.get());
        assertEquals(1, retry.exhaustedCount());
        PolicyEvent.RetriesExhausted exhausted = (PolicyEvent.RetriesExhausted) events.get(events.size() - 1);
        assertEquals(3, exhausted.attempts());
        assertEquals("all 3 attempts made", exhausted.reason());
    }

    @Test
    void successAtTheFirstAttemptWaitsNothing() throws Exception {
        Retry retry = retry().build();
        long start = scheduler.ticker().read();
        assertEquals("ok", retry.call(() -> "ok"));
        assertEquals(start, scheduler.ticker().read());
        assertEquals(1, retry.successCount());
        assertTrue(events.isEmpty());
    }

    @Test
    void retriesResultsTheClassifierCallsFailuresAndReturnsTheLastOne() throws Exception {
        Retry retry = retry().maxAttempts(3)
                .retryOn(Classifier.builder().failOnResult(Integer.class, status -> status >= 500).build())
                .build();
        AtomicInteger calls = new AtomicInteger();
        assertEquals(503, retry.call(() -> {
            calls.incrementAndGet();
            return 503;
        }));
        assertEquals(3, calls.get());
        calls.set(0);
        assertEquals(200, retry.call(() -> calls.incrementAndGet() < 2 ? 503 : 200));
        assertEquals(2, calls.get());
    }

    @Test
    void doesNotRetryWhatTheClassifierDoesNotCallAFailure() {
        Retry retry = retry().retryOn(Classifier.builder().failOn(IOException.class).build()).build();
        AtomicInteger calls = new AtomicInteger();
        assertThrows(IllegalStateException.class, () -> retry.call(() -> {
            calls.incrementAndGet();
            throw new IllegalStateException("bug");
        }));
        assertEquals(1, calls.get());
        assertEquals(1, retry.failureCount());
    }

    @Test
    void abortOnStopsAtOnceEvenForRetryableFailures() {
        Retry retry = retry().maxAttempts(5).abortOn(java.io.FileNotFoundException.class).build();
        AtomicInteger calls = new AtomicInteger();
        assertThrows(java.io.FileNotFoundException.class, () -> retry.call(() -> {
            calls.incrementAndGet();
            throw new java.io.FileNotFoundException("gone");
        }));
        assertEquals(1, calls.get());
        assertEquals(1, retry.failureCount());
        assertEquals(0, retry.exhaustedCount());
    }

    @Test
    void neverRetriesErrorsOrInterrupts() {
        Retry retry = retry().maxAttempts(5).build();
        AtomicInteger calls = new AtomicInteger();
        assertThrows(OutOfMemoryError.class, () -> retry.call(() -> {
            calls.incrementAndGet();
            throw new OutOfMemoryError("simulated");
        }));
        assertThrows(InterruptedException.class, () -> retry.call(() -> {
            calls.incrementAndGet();
            throw new InterruptedException();
        }));
        assertEquals(2, calls.get());
    }

    @Test
    void anInterruptDuringTheWaitEndsTheCallWithTheFailureAttached() {
        Retry retry = retry().maxAttempts(3).build();
        InterruptedException interrupted = assertThrows(InterruptedException.class, () -> retry.call(() -> {
            Thread.currentThread().interrupt(); // arrives while the retry waits
            throw new IOException("down");
        }));
        assertFalse(Thread.currentThread().isInterrupted(), "the interrupt is reported by the exception, as for a sleep");
        assertInstanceOf(IOException.class, interrupted.getSuppressed()[0]);
    }

    @Test
    void theAttemptIsReadableInsideTheCall() throws Exception {
        Retry retry = retry().name("reads").maxAttempts(3).build();
        List<String> seen = new ArrayList<>();
        retry.call(() -> {
            Attempt attempt = Attempt.current().orElseThrow();
            seen.add(attempt.policyName() + "#" + attempt.number() + " after "
                    + attempt.previous().map(f -> f.exception().getMessage()).orElse("nothing"));
            if (attempt.number() < 3) {
                throw new IOException("failure " + attempt.number());
            }
            return "ok";
        });
        assertEquals(List.of("reads#1 after nothing", "reads#2 after failure 1", "reads#3 after failure 2"), seen);
        assertTrue(Attempt.current().isEmpty(), "the context does not leak out of the call");
        assertEquals(1, Attempt.currentNumber());
    }

    @Test
    void maxDurationIsTheDeadlineOfEveryAttemptAndBoundsTheWaits() {
        Retry retry = retry().maxAttempts(10).maxDuration(Duration.ofMillis(250)).build();
        List<Long> remaining = new ArrayList<>();
        long start = scheduler.ticker().read();
        assertThrows(IOException.class, () -> retry.call(() -> {
            remaining.add(Deadline.currentRemainingNanos());
            throw new IOException("down");
        }));
        // Attempts at 0, 100 and 200 ms; a retry at 300 ms would start after the deadline (250 ms).
        assertEquals(List.of(250_000_000L, 150_000_000L, 50_000_000L), remaining);
        assertEquals(Duration.ofMillis(200).toNanos(), scheduler.ticker().read() - start, "gave up without waiting in vain");
        PolicyEvent.RetriesExhausted exhausted = (PolicyEvent.RetriesExhausted) events.get(events.size() - 1);
        assertTrue(exhausted.reason().startsWith("the next retry"), exhausted.reason());
    }

    @Test
    void anInnerTimeoutIsCutToTheRetrysDeadline() {
        Retry retry = retry().maxAttempts(5).maxDuration(Duration.ofMillis(150)).build();
        Timeout timeout = Timeout.builder(Duration.ofSeconds(1)).scheduler(scheduler).build();
        Policy pipeline = Pipeline.of(retry, timeout);
        List<Long> limits = new ArrayList<>();
        assertThrows(IOException.class, () -> pipeline.call(() -> {
            limits.add(Deadline.currentRemainingNanos());
            throw new IOException("down");
        }));
        assertEquals(List.of(150_000_000L, 50_000_000L), limits);
    }

    @Test
    void anEnclosingDeadlineAlsoBoundsTheWaits() {
        Timeout outer = Timeout.builder(Duration.ofMillis(150)).scheduler(scheduler).build();
        Retry retry = retry().maxAttempts(10).build();
        AtomicInteger calls = new AtomicInteger();
        assertThrows(IOException.class, () -> outer.call(() -> retry.call(failing(100, calls))));
        assertEquals(2, calls.get(), "attempts at 0 and 100 ms; none at 200 ms, after the 150 ms deadline");
    }

    @Test
    void aRetryAfterHintIsNeverUndercut() throws Exception {
        Retry retry = retry().maxAttempts(2).build();
        AtomicInteger calls = new AtomicInteger();
        long start = scheduler.ticker().read();
        assertEquals("ok", retry.call(() -> {
            if (calls.incrementAndGet() == 1) {
                throw new RateLimitedException("limiter", "slow down", Duration.ofSeconds(2).toNanos());
            }
            return "ok";
        }));
        assertEquals(Duration.ofSeconds(2).toNanos(), scheduler.ticker().read() - start, "the hint, not the 100 ms back-off");
    }

    @Test
    void aHintLongerThanTheTimeLeftGivesUpAtOnce() {
        Retry retry = retry().maxAttempts(5).maxDuration(Duration.ofSeconds(1)).build();
        long start = scheduler.ticker().read();
        RejectedException thrown = assertThrows(RejectedException.class, () -> retry.call(() -> {
            throw new RateLimitedException("limiter", "slow down", Duration.ofSeconds(5).toNanos());
        }));
        assertEquals(Duration.ofSeconds(5).toNanos(), thrown.retryAfterNanos());
        assertEquals(start, scheduler.ticker().read(), "no wait in vain");
        PolicyEvent.RetriesExhausted exhausted = (PolicyEvent.RetriesExhausted) events.get(events.size() - 1);
        assertTrue(exhausted.reason().startsWith("the retry-after hint (PT5S) exceeds the time left"), exhausted.reason());
    }

    @Test
    void hintsAreFoundInCausesAndCustomReadersCombine() throws Exception {
        RetryAfterHint header = (result, failure) -> "429".equals(result) ? Duration.ofSeconds(3).toNanos() : -1L;
        Retry retry = retry().maxAttempts(2)
                .retryOn(Classifier.builder().failOnResult(String.class, "429"::equals).build())
                .retryAfter(RetryAfterHint.rejections().or(header))
                .build();
        AtomicInteger calls = new AtomicInteger();
        long start = scheduler.ticker().read();
        assertEquals("200", retry.call(() -> calls.incrementAndGet() == 1 ? "429" : "200"));
        assertEquals(Duration.ofSeconds(3).toNanos(), scheduler.ticker().read() - start);

        RuntimeException wrapped = new RuntimeException(new CallNotPermittedException("breaker", "open", 7L));
        assertEquals(7L, RetryAfterHint.rejections().retryAfterNanos(null, wrapped));
        assertEquals(-1L, RetryAfterHint.rejections().retryAfterNanos(null, new IOException()));
        assertEquals(-1L, RetryAfterHint.none().retryAfterNanos(null, wrapped));
    }

    @Test
    void aRefusingBudgetEndsTheCallWithTheRealFailureAndTheRefusalSuppressed() {
        RetryBudget budget = RetryBudget.tokenBucket().name("shared").maxTokens(2).tokenRatio(0.1).build();
        Retry retry = retry().maxAttempts(5).budget(budget).build();
        AtomicInteger calls = new AtomicInteger();
        IOException thrown = assertThrows(IOException.class, () -> retry.call(failing(100, calls)));
        // 2 tokens: the first failure leaves 1 (not above half of 2), so no retry at all.
        assertEquals(1, calls.get());
        RetryBudgetExhaustedException refusal = assertInstanceOf(RetryBudgetExhaustedException.class, thrown.getSuppressed()[0]);
        assertEquals("shared", refusal.policyName());
        assertEquals(1, budget.deniedCount());
        assertEquals(1, retry.exhaustedCount());
    }

    @Test
    void aHintReaderThatThrowsEndsTheCallWithTheFailureAttached() {
        Retry retry = retry().retryAfter((result, failure) -> {
            throw new NumberFormatException("Retry-After: Wed, 21 Oct 2026 07:28:00 GMT");
        }).build();
        NumberFormatException thrown = assertThrows(NumberFormatException.class, () -> retry.call(() -> {
            throw new IOException("down");
        }));
        assertInstanceOf(IOException.class, thrown.getSuppressed()[0]);
    }

    @Test
    void aRefusalOfAFailedResultReturnsTheResultAndTellsTheListener() throws Exception {
        RetryBudget budget = RetryBudget.tokenBucket().maxTokens(2).tokenRatio(0.1).build();
        Retry retry = retry().maxAttempts(3).budget(budget)
                .retryOn(Classifier.builder().failOnResult(Integer.class, status -> status == 503).build()).build();
        assertEquals(503, retry.call(() -> 503));
        PolicyEvent.RetriesExhausted exhausted = (PolicyEvent.RetriesExhausted) events.get(events.size() - 1);
        assertTrue(exhausted.reason().contains("retry budget"), exhausted.reason());
        assertEquals(1, budget.deniedCount());
    }

    @Test
    void nestedRetriesSharingABudgetCountEachCallOnce() throws Exception {
        RetryBudget budget = RetryBudget.percentOfRequests().percentCanRetry(0.5).minRetriesPerSecond(0)
                .ticker(scheduler.ticker()).build();
        Retry outer = retry().name("outer").budget(budget).build();
        Retry inner = retry().name("inner").budget(budget).build();
        Policy nested = Pipeline.of(outer, inner);
        for (int i = 0; i < 4; i++) {
            assertEquals("ok", nested.call(() -> "ok"));
        }
        assertEquals(2, budget.available(), "4 calls counted once each (0.5 retry per call), not 8 times");
    }

    @Test
    void asyncRetriesWaitOnTheSchedulerNotOnAThread() {
        Retry retry = retry().maxAttempts(3).build();
        AtomicInteger calls = new AtomicInteger();
        List<Integer> attempts = new ArrayList<>();
        CompletionStage<String> stage = retry.callAsync(() -> {
            attempts.add(Attempt.currentNumber());
            return calls.incrementAndGet() < 3
                    ? CompletableFuture.failedFuture(new IOException("down"))
                    : CompletableFuture.completedFuture("ok");
        });
        CompletableFuture<String> future = stage.toCompletableFuture();
        assertFalse(future.isDone());
        assertEquals(1, calls.get());
        scheduler.advance(Duration.ofMillis(99));
        assertEquals(1, calls.get(), "not before the back-off");
        scheduler.advance(Duration.ofMillis(1));
        assertEquals(2, calls.get());
        scheduler.advance(Duration.ofMillis(100));
        assertEquals("ok", future.join());
        assertEquals(List.of(1, 2, 3), attempts);
        assertEquals(1, retry.successAfterRetryCount());
    }

    @Test
    void asyncGivesUpWithTheLastFailure() {
        Retry retry = retry().maxAttempts(2).build();
        AtomicInteger calls = new AtomicInteger();
        CompletableFuture<String> future = retry.<String>callAsync(
                () -> CompletableFuture.failedFuture(new IOException("failure " + calls.incrementAndGet()))).toCompletableFuture();
        scheduler.advance(Duration.ofSeconds(1));
        CompletionException thrown = assertThrows(CompletionException.class, future::join);
        assertEquals("failure 2", thrown.getCause().getMessage());
        assertEquals(1, retry.exhaustedCount());
    }

    @Test
    void cancellingAnAsyncRetryCancelsTheAttemptAndThePendingRetry() {
        Retry retry = retry().maxAttempts(3).build();
        List<CompletableFuture<String>> attempts = new ArrayList<>();
        CompletableFuture<String> future = retry.<String>callAsync(() -> {
            CompletableFuture<String> attempt = new CompletableFuture<>();
            attempts.add(attempt);
            return attempt;
        }).toCompletableFuture();
        attempts.get(0).completeExceptionally(new IOException("down"));
        assertEquals(1, scheduler.pendingTasks(), "the retry waits on a timer");
        assertTrue(future.cancel(true));
        assertEquals(0, scheduler.pendingTasks(), "cancelling cancels the timer");
        scheduler.advance(Duration.ofSeconds(1));
        assertEquals(1, attempts.size(), "no attempt after the cancellation");

        CompletableFuture<String> second = retry.<String>callAsync(() -> {
            CompletableFuture<String> attempt = new CompletableFuture<>();
            attempts.add(attempt);
            return attempt;
        }).toCompletableFuture();
        assertTrue(second.cancel(true));
        assertTrue(attempts.get(1).isCancelled(), "cancelling cancels the running attempt");
        assertThrows(CancellationException.class, second::join);
    }

    @Test
    void asyncZeroDelayRetriesRunAtOnceOnTheExecutor() {
        Retry retry = Retry.builder().scheduler(scheduler).backoff(Backoff.none()).maxAttempts(4).build();
        AtomicInteger calls = new AtomicInteger();
        CompletableFuture<String> future = retry.<String>callAsync(() -> calls.incrementAndGet() < 4
                ? CompletableFuture.failedFuture(new IOException("down"))
                : CompletableFuture.completedFuture("ok")).toCompletableFuture();
        assertEquals("ok", future.join());
        assertEquals(4, calls.get());
    }

    @Test
    void asyncMaxDurationIsTheDeadlineOfLaterAttemptsToo() {
        Retry retry = retry().maxAttempts(5).maxDuration(Duration.ofMillis(250)).build();
        List<Long> remaining = new ArrayList<>();
        CompletableFuture<String> future = retry.<String>callAsync(() -> {
            remaining.add(Deadline.currentRemainingNanos());
            return CompletableFuture.failedFuture(new IOException("down"));
        }).toCompletableFuture();
        scheduler.advance(Duration.ofSeconds(1));
        assertTrue(future.isCompletedExceptionally());
        assertEquals(List.of(250_000_000L, 150_000_000L, 50_000_000L), remaining);
    }

    @Test
    void insideAPipelineEachAttemptPassesTheInnerAdmissionPolicies() throws Exception {
        CountingAdmission admission = new CountingAdmission("inner");
        Retry retry = retry().maxAttempts(3).build();
        AtomicInteger calls = new AtomicInteger();
        assertEquals("ok", Pipeline.of(retry, admission).call(failing(2, calls)));
        assertEquals(3, admission.admitted.get());
        assertEquals(3, admission.completed.get());
    }

    @Test
    void aThrowingClassifierPropagatesWithTheFailureAttached() {
        Retry retry = retry().retryOn((result, failure) -> {
            throw new IllegalStateException("classifier bug");
        }).build();
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> retry.call(() -> {
            throw new IOException("down");
        }));
        assertInstanceOf(IOException.class, thrown.getSuppressed()[0]);
    }

    @Test
    void aClassifierReturningNullIsReportedNotTakenForASuccess() {
        Retry retry = retry().name("nulls").retryOn((result, failure) -> null).build();
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> retry.call(() -> {
            throw new IOException("down");
        }));
        assertEquals("classifier of 'nulls' returned null", thrown.getMessage());
        assertInstanceOf(IOException.class, thrown.getSuppressed()[0]);
    }

    @Test
    void describesItsMetricsAndItself() throws Exception {
        Retry retry = retry().name("orders").build();
        retry.call(() -> "ok");
        List<String> outcomes = new ArrayList<>();
        retry.describeMetrics(new dev.vigil.core.metrics.MetricsSink() {
            @Override
            public void counter(String name, String description, String tagKey, String outcome, java.util.function.LongSupplier count) {
                outcomes.add(name + ":" + outcome + "=" + count.getAsLong());
            }

            @Override
            public void gauge(String name, String description, String baseUnit, java.util.function.DoubleSupplier value) {}
        });
        assertEquals(List.of("vigil.calls:success=1", "vigil.calls:success_after_retry=0", "vigil.calls:failure=0",
                "vigil.calls:exhausted=0", "vigil.retries:retry=0"), outcomes);
        assertEquals("retry", retry.kind());
        assertTrue(retry.toString().startsWith("Retry[orders, maxAttempts=3"), retry.toString());
        assertNull(Attempt.current().orElse(null));
    }

    @Test
    void badInputIsRejectedWithTheParameterAndRange() {
        assertMessage("maxAttempts must be >= 1, was 0", () -> Retry.builder().maxAttempts(0));
        assertMessage("maxDuration must be > 0", () -> Retry.builder().maxDuration(Duration.ZERO));
        assertMessage("maxDuration must be > 0", () -> Retry.builder().maxDuration(Duration.ofSeconds(-1)));
        assertMessage("backoff must not be null", () -> Retry.builder().backoff(null));
        assertMessage("retryOn must not be null", () -> Retry.builder().retryOn(null));
        assertMessage("budget must not be null", () -> Retry.builder().budget(null));
        assertMessage("name must not be null or blank", () -> Retry.builder().name(" "));
        assertMessage("action must not be null", () -> Retry.of(2).execute(null, null));
        assertMessage("call must not be null", () -> Retry.of(2).callAsync(null));
    }
}
