package dev.vigil.core;

import dev.vigil.core.testing.VirtualThreads;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Many threads (platform, and on JDK 21+ virtual) drive one pipeline with a seeded mix of
 * successes, failures, rejections and asynchronous calls whose completion races their cancellation
 * on another thread. Every permit must end exactly once, whatever the interleaving. Bounded in
 * count; no timing assertions.
 */
class ConcurrencyStressTest {
    private static final int THREADS = 8;
    private static final int CALLS_PER_THREAD = 2_000;

    @Test
    void platformThreadsEndEveryPermitExactlyOnce() throws Exception {
        ExecutorService executor = Executors.newFixedThreadPool(THREADS);
        try {
            hammer(executor, THREADS);
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void virtualThreadsEndEveryPermitExactlyOnce() throws Exception {
        ExecutorService executor = VirtualThreads.executor();
        try {
            hammer(executor, 200);
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void timeoutsOnVirtualThreadsInterruptTheBlockedCallAndLeakNothing() throws Exception {
        ExecutorService executor = VirtualThreads.executor();
        Timeout timeout = Timeout.of(Duration.ofMillis(5));
        int tasks = 500;
        AtomicInteger timedOut = new AtomicInteger();
        AtomicInteger leakedInterrupts = new AtomicInteger();
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < tasks; i++) {
                futures.add(executor.submit(() -> {
                    try {
                        timeout.call(() -> new CompletableFuture<Void>().get()); // blocks until interrupted
                    } catch (TimeoutExceededException expected) {
                        timedOut.incrementAndGet();
                    } catch (Exception unexpected) {
                        throw new AssertionError(unexpected);
                    }
                    if (Thread.currentThread().isInterrupted()) {
                        leakedInterrupts.incrementAndGet();
                    }
                    return null;
                }));
            }
            for (Future<?> future : futures) {
                future.get(60, TimeUnit.SECONDS);
            }
        } finally {
            executor.shutdownNow();
        }
        assertEquals(tasks, timedOut.get());
        assertEquals(0, leakedInterrupts.get());
        assertEquals(tasks, timeout.timeoutCount());
    }

    private static void hammer(ExecutorService executor, int workers) throws Exception {
        RecordingAdmission outer = new RecordingAdmission("outer");
        RecordingAdmission inner = new RecordingAdmission("inner");
        CountingAdmission rejectEvery = new CountingAdmission("sometimes", 7);
        Pipeline pipeline = Pipeline.of(outer, rejectEvery, inner);
        ExecutorService completer = Executors.newFixedThreadPool(2);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        int callsPerWorker = THREADS * CALLS_PER_THREAD / workers;
        try {
            for (int w = 0; w < workers; w++) {
                long seed = 1_000L + w;
                futures.add(executor.submit(() -> {
                    start.await();
                    SplittableRandom random = new SplittableRandom(seed);
                    for (int i = 0; i < callsPerWorker; i++) {
                        oneCall(pipeline, completer, random.nextInt(5));
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> future : futures) {
                future.get(120, TimeUnit.SECONDS);
            }
            completer.shutdown();
            assertTrue(completer.awaitTermination(60, TimeUnit.SECONDS));
        } finally {
            completer.shutdownNow();
        }
        outer.assertEveryPermitEndedOnce();
        inner.assertEveryPermitEndedOnce();
        assertEquals(0, rejectEvery.inFlight());
        assertFalse(outer.issuedCount() == 0);
    }

    private static void oneCall(Pipeline pipeline, ExecutorService completer, int kind) {
        try {
            switch (kind) {
                case 0 -> pipeline.call(() -> "ok");
                case 1 -> pipeline.call(() -> {
                    throw new IOException("down");
                });
                case 2 -> pipeline.callAsync(() -> CompletableFuture.supplyAsync(() -> "ok", completer))
                        .toCompletableFuture().join();
                default -> {
                    // Completion on a completer thread races cancellation on this one.
                    CompletableFuture<String> source = new CompletableFuture<>();
                    CompletionStage<String> result = pipeline.callAsync(() -> source);
                    completer.execute(() -> source.complete("raced"));
                    result.toCompletableFuture().cancel(true);
                }
            }
        } catch (Exception expected) {
            // failures and rejections are part of the mix
        }
    }
}
