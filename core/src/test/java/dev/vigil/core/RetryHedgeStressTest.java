package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.time.Scheduler;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Real threads race asynchronous retries and hedges: attempts complete (successfully or with a
 * failure) on pool threads while hedge timers fire and callers cancel. Whatever
 * the interleaving, every call completes, a hedged call never starts more than 1 + maxHedges attempts,
 * every attempt ends (completed or cancelled), and a shared budget's token count stays in range.
 * Bounded in count, seeded; no timing assertions.
 */
class RetryHedgeStressTest {
    private static final int CALLS = 3_000;

    @Test
    void hedgedCallsRacingCompletionsTimersAndCancellationsConserveEverything() throws Exception {
        ScheduledExecutorService timers = Executors.newScheduledThreadPool(2);
        ExecutorService completers = Executors.newFixedThreadPool(4);
        try {
            RetryBudget budget = RetryBudget.tokenBucket().maxTokens(50).tokenRatio(0.5).build();
            Hedge hedge = Hedge.builder().idempotent(true).maxHedges(3).delay(java.time.Duration.ZERO)
                    .budget(budget).scheduler(Scheduler.of(timers)).build();
            SplittableRandom random = new SplittableRandom(20261121);
            List<CompletableFuture<String>> attempts = new CopyOnWriteArrayList<>();
            List<CompletableFuture<String>> calls = new ArrayList<>();
            List<AtomicInteger> startedPerCall = new ArrayList<>();
            java.util.Queue<Future<?>> completions = new java.util.concurrent.ConcurrentLinkedQueue<>(); // hedges start on pool threads
            for (int i = 0; i < CALLS; i++) {
                AtomicInteger started = new AtomicInteger();
                startedPerCall.add(started);
                long seed = random.nextLong();
                CompletableFuture<String> call = hedge.<String>callAsync(() -> {
                    started.incrementAndGet();
                    CompletableFuture<String> attempt = new CompletableFuture<>();
                    attempts.add(attempt);
                    SplittableRandom own = new SplittableRandom(seed + started.get());
                    boolean fails = own.nextInt(3) == 0;
                    completions.add(completers.submit(() -> {
                        if (fails) {
                            attempt.completeExceptionally(new IOException("down"));
                        } else {
                            attempt.complete("ok");
                        }
                    }));
                    return attempt;
                }).toCompletableFuture();
                calls.add(call);
                if (random.nextInt(10) == 0) {
                    completers.submit(() -> call.cancel(true));
                }
            }
            for (CompletableFuture<String> call : calls) {
                try {
                    call.get(30, TimeUnit.SECONDS); // every attempt completes, so every call must: a hang fails here
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.CancellationException ended) {
                    // a failed or cancelled call has completed too
                }
            }
            for (Future<?> completion : completions) {
                completion.get(30, TimeUnit.SECONDS);
            }
            completers.shutdown();
            assertTrue(completers.awaitTermination(30, TimeUnit.SECONDS));
            long totalStarted = 0;
            for (AtomicInteger started : startedPerCall) {
                assertTrue(started.get() >= 1 && started.get() <= 4, "attempts per call: " + started.get());
                totalStarted += started.get();
            }
            assertEquals(totalStarted, attempts.size());
            assertEquals(totalStarted - CALLS, hedge.hedgeCount());
            for (CompletableFuture<String> attempt : attempts) {
                assertTrue(attempt.isDone(), "every attempt completed or was cancelled");
            }
            for (CompletableFuture<String> call : calls) {
                assertTrue(call.isDone());
            }
            double tokens = ((TokenBucketBudget) budget).tokens();
            assertTrue(tokens >= 0 && tokens <= 50, "tokens " + tokens);
        } finally {
            timers.shutdownNow();
            completers.shutdownNow();
        }
    }

    @Test
    void asyncRetriesRacingCancellationsEndEveryAttempt() throws Exception {
        ScheduledExecutorService timers = Executors.newScheduledThreadPool(2);
        ExecutorService completers = Executors.newFixedThreadPool(4);
        try {
            Retry retry = Retry.builder().maxAttempts(4).backoff(Backoff.none())
                    .scheduler(Scheduler.of(timers)).build();
            SplittableRandom random = new SplittableRandom(424242);
            List<CompletableFuture<String>> attempts = new CopyOnWriteArrayList<>();
            List<CompletableFuture<String>> calls = new ArrayList<>();
            for (int i = 0; i < CALLS; i++) {
                long seed = random.nextLong();
                AtomicInteger number = new AtomicInteger();
                CompletableFuture<String> call = retry.<String>callAsync(() -> {
                    CompletableFuture<String> attempt = new CompletableFuture<>();
                    attempts.add(attempt);
                    boolean fails = new SplittableRandom(seed + number.incrementAndGet()).nextInt(3) == 0;
                    completers.submit(() -> {
                        if (fails) {
                            attempt.completeExceptionally(new IOException("down"));
                        } else {
                            attempt.complete("ok");
                        }
                    });
                    return attempt;
                }).toCompletableFuture();
                calls.add(call);
                if (random.nextInt(5) == 0) {
                    completers.submit(() -> call.cancel(true));
                }
            }
            int cancelled = 0;
            for (CompletableFuture<String> call : calls) {
                try {
                    call.get(30, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException failed) {
                    assertTrue(failed.getCause() instanceof IOException, String.valueOf(failed.getCause()));
                } catch (java.util.concurrent.CancellationException ended) {
                    cancelled++;
                }
            }
            completers.shutdown();
            assertTrue(completers.awaitTermination(30, TimeUnit.SECONDS));
            for (CompletableFuture<String> attempt : attempts) {
                assertTrue(attempt.isDone());
            }
            // A call is counted when its outcome is decided; a cancellation racing that decision may win
            // the future after the count, so cancelled calls may or may not be counted, others exactly once.
            long counted = retry.successCount() + retry.successAfterRetryCount() + retry.exhaustedCount() + retry.failureCount();
            assertTrue(counted >= CALLS - cancelled && counted <= CALLS, "counted " + counted + ", cancelled " + cancelled);
            // A retry is counted when scheduled; a cancellation can stop at most one scheduled retry per call.
            long retried = attempts.size() - CALLS;
            assertTrue(retried <= retry.retryCount() && retry.retryCount() <= retried + cancelled,
                    "retries " + retry.retryCount() + ", attempts after the first " + retried + ", cancelled " + cancelled);
        } finally {
            timers.shutdownNow();
            completers.shutdownNow();
        }
    }
}
