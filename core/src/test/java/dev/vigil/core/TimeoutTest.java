package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.Scheduler;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TimeoutTest {
    private final ManualScheduler scheduler = new ManualScheduler();
    private final List<PolicyEvent> events = new CopyOnWriteArrayList<>();
    private final Timeout timeout = Timeout.builder(Duration.ofMillis(100))
            .name("db")
            .scheduler(scheduler)
            .listener(events::add)
            .build();

    @AfterEach
    void neverLeaveTheTestThreadInterrupted() {
        assertFalse(Thread.interrupted(), "a timeout leaked an interrupt");
    }

    @Test
    void aCallWithinTheLimitReturnsAndCancelsItsTimer() throws Exception {
        String result = timeout.call(() -> {
            scheduler.advance(Duration.ofMillis(99));
            return "fast";
        });
        assertEquals("fast", result);
        assertEquals(0, scheduler.pendingTasks());
        assertEquals(1, timeout.successCount());
        assertEquals(0, timeout.timeoutCount());
        assertTrue(events.isEmpty());
    }

    @Test
    void aSlowCallIsInterruptedAndRaisesTimeoutExceededStatingTheLimit() {
        AtomicBoolean interruptedInside = new AtomicBoolean();
        TimeoutExceededException thrown = assertThrows(TimeoutExceededException.class, () -> timeout.call(() -> {
            scheduler.advance(Duration.ofMillis(100)); // the deadline passes while the call runs
            interruptedInside.set(Thread.currentThread().isInterrupted());
            return "too late";
        }));
        assertTrue(interruptedInside.get(), "the caller's thread was interrupted at the deadline");
        assertEquals(Duration.ofMillis(100), thrown.limit());
        assertEquals("db", thrown.policyName());
        assertEquals("call timed out after 100ms (timeout 'db')", thrown.getMessage());
        assertFalse(thrown.inherited());
        assertEquals(1, timeout.timeoutCount());
        assertEquals(List.of(new PolicyEvent.TimedOut("db", "timeout", 100_000_000L, Duration.ofMillis(100))), events);
    }

    @Test
    void theInterruptedExceptionOfTheCallIsSuppressedInTheTimeout() {
        TimeoutExceededException thrown = assertThrows(TimeoutExceededException.class, () -> timeout.call(() -> {
            scheduler.advance(Duration.ofMillis(150));
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException("blocking call interrupted");
            }
            return "unreachable";
        }));
        assertInstanceOf(InterruptedException.class, thrown.getSuppressed()[0]);
    }

    @Test
    void anInterruptPendingBeforeTheTimeoutIsLeftAlone() {
        Thread.currentThread().interrupt();
        assertThrows(TimeoutExceededException.class, () -> timeout.call(() -> {
            scheduler.advance(Duration.ofMillis(100));
            return "x";
        }));
        assertTrue(Thread.interrupted(), "the caller's own interrupt survives");
    }

    @Test
    void withoutInterruptTheCallRunsToItsEndAndItsResultIsDiscarded() {
        Timeout polite = Timeout.builder(Duration.ofMillis(100)).scheduler(scheduler).interruptOnTimeout(false).build();
        AtomicBoolean interrupted = new AtomicBoolean(true);
        assertThrows(TimeoutExceededException.class, () -> polite.call(() -> {
            scheduler.advance(Duration.ofSeconds(1));
            interrupted.set(Thread.currentThread().isInterrupted());
            return "late";
        }));
        assertFalse(interrupted.get());
    }

    @Test
    void failuresWithinTheLimitPropagateUnchanged() {
        IOException failure = new IOException("boom");
        assertSame(failure, assertThrows(IOException.class, () -> timeout.call(() -> {
            throw failure;
        })));
        assertEquals(1, timeout.failureCount());
        assertEquals(0, scheduler.pendingTasks());
    }

    @Test
    void theDeadlineIsVisibleInsideTheCall() throws Exception {
        assertTrue(Deadline.current().isEmpty());
        Duration remaining = timeout.call(() -> {
            scheduler.advance(Duration.ofMillis(30));
            return Deadline.current().orElseThrow().remaining();
        });
        assertEquals(Duration.ofMillis(70), remaining);
        assertTrue(Deadline.current().isEmpty(), "the deadline is unbound after the call");
        assertEquals(Long.MAX_VALUE, Deadline.currentRemainingNanos());
    }

    @Test
    void currentRemainingOrIsAlwaysAValidTimeout() throws Exception {
        assertEquals(Duration.ofSeconds(9), Deadline.currentRemainingOr(Duration.ofSeconds(9)), "no deadline");
        Timeout patient = Timeout.builder(Duration.ofMillis(100)).scheduler(scheduler).interruptOnTimeout(false).build();
        assertThrows(TimeoutExceededException.class, () -> patient.call(() -> {
            assertEquals(Duration.ofMillis(100), Deadline.currentRemainingOr(Duration.ofSeconds(9)));
            scheduler.advance(Duration.ofMillis(150));
            assertEquals(Duration.ofNanos(1), Deadline.currentRemainingOr(Duration.ofSeconds(9)), "expired: 1ns, never zero");
            return "late";
        }));
        assertMessage("otherwise must not be null", () -> Deadline.currentRemainingOr(null));
        assertMessage("otherwise must be > 0, was PT-1S", () -> Deadline.currentRemainingOr(Duration.ofSeconds(-1)));
    }

    @Test
    void nestedTimeoutsTakeTheEarlierDeadline() throws Exception {
        Timeout outer = Timeout.builder(Duration.ofMillis(100)).name("outer").scheduler(scheduler).build();
        Timeout inner = Timeout.builder(Duration.ofSeconds(5)).name("inner").scheduler(scheduler).build();
        AtomicReference<Duration> seenInside = new AtomicReference<>();
        TimeoutExceededException thrown = assertThrows(TimeoutExceededException.class, () -> outer.call(() -> {
            scheduler.advance(Duration.ofMillis(40));
            return inner.call(() -> {
                seenInside.set(Deadline.current().orElseThrow().remaining());
                scheduler.advance(Duration.ofMillis(60));
                return "late";
            });
        }));
        assertEquals(Duration.ofMillis(60), seenInside.get());
        // The inner timeout fires first at the shared deadline and says it was limited from outside.
        TimeoutExceededException innerTimeout = thrown.getSuppressed().length > 0
                && thrown.getSuppressed()[0] instanceof TimeoutExceededException
                ? (TimeoutExceededException) thrown.getSuppressed()[0] : thrown;
        assertEquals("inner", innerTimeout.policyName());
        assertTrue(innerTimeout.inherited());
        assertEquals(Duration.ofMillis(60), innerTimeout.limit());
    }

    @Test
    void anInnerShorterTimeoutKeepsItsOwnLimit() throws Exception {
        Timeout outer = Timeout.builder(Duration.ofSeconds(5)).scheduler(scheduler).build();
        Timeout inner = Timeout.builder(Duration.ofMillis(100)).name("inner").scheduler(scheduler).build();
        Duration seen = outer.call(() -> inner.call(() -> Deadline.current().orElseThrow().remaining()));
        assertEquals(Duration.ofMillis(100), seen);
    }

    @Test
    void anExpiredEnclosingDeadlineFailsAtOnceWithoutRunningTheCall() {
        Timeout outer = Timeout.builder(Duration.ofMillis(10)).scheduler(scheduler).interruptOnTimeout(false).build();
        AtomicBoolean innerRan = new AtomicBoolean();
        TimeoutExceededException thrown = assertThrows(TimeoutExceededException.class, () -> outer.call(() -> {
            scheduler.advance(Duration.ofMillis(20));
            return timeout.call(() -> innerRan.getAndSet(true));
        }));
        assertFalse(innerRan.get());
        assertEquals(Duration.ofMillis(10), thrown.limit());
    }

    @Test
    void asyncCompletesExceptionallyAtTheDeadlineAndCancelsTheCall() {
        CompletableFuture<String> source = new CompletableFuture<>();
        CompletionStage<String> result = timeout.callAsync(() -> source);
        scheduler.advance(Duration.ofMillis(99));
        assertFalse(result.toCompletableFuture().isDone());
        scheduler.advance(Duration.ofMillis(1));
        CompletionException thrown = assertThrows(CompletionException.class, () -> result.toCompletableFuture().join());
        assertInstanceOf(TimeoutExceededException.class, thrown.getCause());
        assertTrue(source.isCancelled());
        assertEquals(1, timeout.timeoutCount());
        assertEquals(1, events.size());
    }

    @Test
    void asyncWithoutCancelLeavesTheCallRunning() {
        Timeout keep = Timeout.builder(Duration.ofMillis(100)).scheduler(scheduler).cancelOnTimeout(false).build();
        CompletableFuture<String> source = new CompletableFuture<>();
        CompletionStage<String> result = keep.callAsync(() -> source);
        scheduler.advance(Duration.ofMillis(100));
        assertTrue(result.toCompletableFuture().isCompletedExceptionally());
        assertFalse(source.isDone());
    }

    @Test
    void asyncSuccessCancelsTheTimer() {
        CompletableFuture<String> source = new CompletableFuture<>();
        CompletionStage<String> result = timeout.callAsync(() -> source);
        assertEquals(1, scheduler.pendingTasks());
        source.complete("ok");
        assertEquals("ok", result.toCompletableFuture().join());
        assertEquals(0, scheduler.pendingTasks());
        assertEquals(1, timeout.successCount());
    }

    @Test
    void anAlreadyCompletedStageNeedsNoTimer() {
        CompletionStage<String> result = timeout.callAsync(() -> CompletableFuture.completedFuture("now"));
        assertEquals("now", result.toCompletableFuture().join());
        assertEquals(0, scheduler.pendingTasks());
    }

    @Test
    void cancellingTheAsyncResultCancelsTheCallAndTheTimer() {
        CompletableFuture<String> source = new CompletableFuture<>();
        CompletionStage<String> result = timeout.callAsync(() -> source);
        result.toCompletableFuture().cancel(true);
        assertTrue(source.isCancelled());
        assertEquals(0, scheduler.pendingTasks());
    }

    @Test
    void theDeadlineIsVisibleWhileTheAsyncCallStarts() {
        AtomicReference<Optional<Deadline>> seen = new AtomicReference<>();
        timeout.callAsync(() -> {
            seen.set(Deadline.current());
            return CompletableFuture.completedFuture("x");
        });
        assertEquals(Duration.ofMillis(100), seen.get().orElseThrow().remaining());
        assertTrue(Deadline.current().isEmpty());
    }

    @Test
    void anAsyncSupplierThatThrowsFailsTheFuture() {
        IllegalStateException failure = new IllegalStateException("no connection");
        CompletionStage<String> result = timeout.callAsync(() -> {
            throw failure;
        });
        CompletionException thrown = assertThrows(CompletionException.class, () -> result.toCompletableFuture().join());
        assertSame(failure, thrown.getCause());
        assertEquals(0, scheduler.pendingTasks());
    }

    @Test
    void timesOutOnARealThreadWithTheSharedScheduler() {
        // Real time, bounded: a call that blocks until interrupted. The timeout must interrupt it.
        Timeout real = Timeout.of(Duration.ofMillis(20));
        TimeoutExceededException thrown = assertThrows(TimeoutExceededException.class, () -> real.call(() -> {
            new CompletableFuture<Void>().get(); // blocks until interrupted
            return "unreachable";
        }));
        assertInstanceOf(InterruptedException.class, thrown.getSuppressed()[0]);
    }

    @Test
    void syncTimeoutEventsAreDeliveredOnTheCallersThreadNotTheTimers() {
        List<String> threads = new CopyOnWriteArrayList<>();
        Timeout real = Timeout.builder(Duration.ofMillis(5)).listener(event -> threads.add(Thread.currentThread().getName())).build();
        assertThrows(TimeoutExceededException.class, () -> real.call(() -> new CompletableFuture<Void>().get()));
        assertEquals(List.of(Thread.currentThread().getName()), threads);
    }

    @Test
    void asyncTimeoutsCompleteOffTheTimerThread() {
        AtomicReference<String> completedOn = new AtomicReference<>();
        Timeout real = Timeout.of(Duration.ofMillis(5));
        CompletionStage<String> result = real.callAsync(CompletableFuture::new);
        CompletableFuture<String> observed = result.toCompletableFuture().whenComplete((v, e) ->
                completedOn.set(Thread.currentThread().getName()));
        assertThrows(CompletionException.class, observed::join);
        assertFalse(completedOn.get().equals("vigil-timer"), "dependents ran on " + completedOn.get());
    }

    @Test
    void asyncFailsInsteadOfRunningUnboundedWhenNoTimerCanBeScheduled() {
        Scheduler broken = new Scheduler() {
            @Override
            public Task schedule(Runnable task, long delayNanos) {
                throw new java.util.concurrent.RejectedExecutionException("shut down");
            }
        };
        Timeout orphan = Timeout.builder(Duration.ofSeconds(1)).scheduler(broken).build();
        CompletableFuture<String> source = new CompletableFuture<>();
        CompletionStage<String> result = orphan.callAsync(() -> source);
        assertTrue(result.toCompletableFuture().isCompletedExceptionally());
        assertTrue(source.isCancelled());
    }

    @Test
    void badInputIsRejectedWithTheParameterNamed() {
        assertMessage("limit must be <= PT640511H56M49.213693951S (about 73 years), was PT876000H",
                () -> Timeout.of(Duration.ofDays(36_500)));
        assertMessage("limit must be > 0, was PT0S", () -> Timeout.of(Duration.ZERO));
        assertMessage("limit must be > 0, was PT-1S", () -> Timeout.of(Duration.ofSeconds(-1)));
        assertMessage("limit must not be null", () -> Timeout.of(null));
        assertMessage("name must not be null or blank", () -> Timeout.builder(Duration.ofSeconds(1)).name(""));
        assertMessage("scheduler must not be null", () -> Timeout.builder(Duration.ofSeconds(1)).scheduler(null));
        assertMessage("listener must not be null", () -> Timeout.builder(Duration.ofSeconds(1)).listener(null));
        assertMessage("callable must not be null", () -> timeout.call(null));
    }

    static void assertMessage(String expectedPrefix, org.junit.jupiter.api.function.Executable executable) {
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, executable);
        assertTrue(thrown.getMessage().startsWith(expectedPrefix), "message: " + thrown.getMessage());
    }
}
