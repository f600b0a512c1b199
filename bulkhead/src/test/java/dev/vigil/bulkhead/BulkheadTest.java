package dev.vigil.bulkhead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.BulkheadFullException;
import dev.vigil.core.Outcome;
import dev.vigil.core.Pipeline;
import dev.vigil.core.RejectedException;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.health.Health;
import dev.vigil.core.internal.Checks;
import dev.vigil.core.metrics.VigilMetrics;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.ManualTicker;
import dev.vigil.core.time.Scheduler;
import dev.vigil.core.time.Ticker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Unit tests of {@link Bulkhead}, each checking a sentence of its javadoc: the cap; refusals (counted,
 * published as {@link PolicyEvent.Rejected}, thrown as a stackless {@link BulkheadFullException} naming
 * the bulkhead) through the permit protocol, the policy API and a {@link Pipeline}; permits coming back
 * by {@code complete} and {@code release}; and FIFO waiting in virtual time ({@link ManualScheduler}):
 * grant order, timeouts that leave no waiter and lose no permit, interrupts that leave no permit held,
 * the {@code maxWaiters} bound, fairness ({@code tryAcquirePermit} refused while someone waits, even
 * with a permit free), and a permit granted exactly as its waiter times out or is interrupted never
 * lost (raced many times). Then health, Micrometer metrics, every builder check, {@code Bulkhead.of}
 * and {@code toString}.
 *
 * <p>Waiting tests use real threads but no sleeps: a test waits for a waiter to be parked in the
 * bulkhead's queue ({@link LockSupport#getBlocker} is the queue only while the thread is parked in
 * it, after its node is in the queue) or for its result, with a generous bound that only guards
 * against a hang; time moves only by {@link ManualScheduler#advance}.
 */
class BulkheadTest {
    private static final long GUARD_SECONDS = 10;

    // ------------------------------------------------------------------ the cap and refusals

    @Test
    void theCapIsEnforcedAndEveryEndOfAPermitGivesItBack() {
        Bulkhead bulkhead = Bulkhead.builder().name("cap").maxConcurrentCalls(3).scheduler(new ManualScheduler()).build();
        long[] permits = new long[3];
        for (int i = 0; i < 3; i++) {
            permits[i] = bulkhead.tryAcquirePermit();
            assertTrue(permits[i] >= 0, "permit " + i + " is admitted and never negative");
            assertEquals(i + 1, bulkhead.concurrentCalls());
            assertEquals(2 - i, bulkhead.availablePermits());
        }
        assertEquals(AdmissionPolicy.REJECTED, bulkhead.tryAcquirePermit(), "a fourth call exceeds the cap");
        assertEquals(AdmissionPolicy.REJECTED, bulkhead.tryAcquirePermit());
        assertEquals(3, bulkhead.concurrentCalls(), "a refusal takes nothing");

        bulkhead.complete(permits[0], Outcome.SUCCESS, 0L);
        assertEquals(1, bulkhead.availablePermits(), "complete(SUCCESS) frees the permit");
        bulkhead.complete(permits[1], Outcome.FAILURE, 5L);
        assertEquals(2, bulkhead.availablePermits(), "complete(FAILURE) frees the permit");
        bulkhead.release(permits[2]);
        assertEquals(3, bulkhead.availablePermits(), "release frees the permit");
        long ignored = bulkhead.tryAcquirePermit();
        bulkhead.complete(ignored, Outcome.IGNORED, 0L);
        assertEquals(3, bulkhead.availablePermits(), "complete(IGNORED) frees the permit");
        assertEquals(0, bulkhead.concurrentCalls());

        for (int i = 0; i < 3; i++) {
            permits[i] = bulkhead.tryAcquirePermit();
            assertNotEquals(AdmissionPolicy.REJECTED, permits[i], "permits that came back are admitted again");
        }
        assertEquals(AdmissionPolicy.REJECTED, bulkhead.tryAcquirePermit());
        assertEquals(3L, bulkhead.rejectedCount(), "every refusal was counted");
    }

    @Test
    void aRefusalIsCountedAndPublishedAsARejectedEventAtTheSchedulersTime() throws Exception {
        ManualScheduler scheduler = new ManualScheduler(new ManualTicker(1_000L));
        List<PolicyEvent> events = new ArrayList<>();
        Bulkhead bulkhead = Bulkhead.builder().name("refusals").maxConcurrentCalls(1).scheduler(scheduler)
                .listener(events::add).build();
        long permit = bulkhead.tryAcquirePermit();
        assertEquals(0L, bulkhead.rejectedCount());
        assertTrue(events.isEmpty(), "an admission publishes nothing");

        scheduler.advance(Duration.ofMillis(7));
        assertEquals(AdmissionPolicy.REJECTED, bulkhead.tryAcquirePermit());
        assertEquals(1L, bulkhead.rejectedCount());
        assertEquals(1, events.size());
        PolicyEvent.Rejected rejected = assertInstanceOf(PolicyEvent.Rejected.class, events.get(0));
        assertEquals("refusals", rejected.policyName());
        assertEquals("bulkhead", rejected.policyKind());
        assertEquals(bulkhead.kind(), rejected.policyKind());
        assertEquals(1_000L + Duration.ofMillis(7).toNanos(), rejected.nanoTime(), "the scheduler's ticker reading");
        assertEquals(-1L, rejected.retryAfterNanos(), "a bulkhead knows no retry-after");
        assertFalse(rejected.reason().isEmpty());

        assertEquals(AdmissionPolicy.REJECTED, bulkhead.acquirePermit() /* no max wait: refused at once */);
        assertEquals(2L, bulkhead.rejectedCount());
        assertEquals(2, events.size());
        bulkhead.release(permit);
        assertNotEquals(AdmissionPolicy.REJECTED, bulkhead.tryAcquirePermit());
        assertEquals(2, events.size());
    }

    @Test
    void theRejectionIsAStacklessBulkheadFullExceptionNamingTheBulkhead() {
        Bulkhead bulkhead = Bulkhead.builder().name("inventory").maxConcurrentCalls(2).scheduler(new ManualScheduler()).build();
        bulkhead.tryAcquirePermit();
        bulkhead.tryAcquirePermit();
        RejectedException rejection = bulkhead.rejection();
        BulkheadFullException full = assertInstanceOf(BulkheadFullException.class, rejection);
        assertEquals("inventory", full.policyName());
        assertEquals("bulkhead 'inventory' is full: 2 concurrent calls in flight", full.getMessage());
        assertEquals(-1L, full.retryAfterNanos());
        assertTrue(full.retryAfter().isEmpty());
        assertEquals(0, full.getStackTrace().length, "stackless");
        assertNotSame(full, bulkhead.rejection(), "rejection() creates a new exception each time");
    }

    @Test
    void withAMaxWaitTheRejectionMessageNamesTheWaitersAndTheMaxWait() throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        Bulkhead bulkhead = Bulkhead.builder().name("waits").maxConcurrentCalls(1).maxWait(Duration.ofMillis(50)).maxWaiters(3)
                .scheduler(scheduler).build();
        bulkhead.tryAcquirePermit();
        assertEquals("bulkhead 'waits' is full: 1 concurrent calls in flight, 0 waiting (max wait 50 ms)", bulkhead.rejection().getMessage());
        Waiter waiter = Waiter.start(bulkhead, "w");
        waiter.awaitParked();
        assertEquals("bulkhead 'waits' is full: 1 concurrent calls in flight, 1 waiting (max wait 50 ms)", bulkhead.rejection().getMessage());
        scheduler.advance(Duration.ofMillis(50));
        assertEquals(AdmissionPolicy.REJECTED, waiter.outcome());
    }

    // ------------------------------------------------------------------ the policy API and pipelines

    @Test
    void callGetAndRunRunUnderAPermitAndGiveItBackWhateverTheCallDoes() throws Exception {
        Bulkhead bulkhead = Bulkhead.builder().name("api").maxConcurrentCalls(2).scheduler(new ManualScheduler()).build();
        assertEquals(42, bulkhead.call(() -> {
            assertEquals(1, bulkhead.concurrentCalls(), "the call holds a permit while it runs");
            return 42;
        }));
        assertEquals("ok", bulkhead.get(() -> {
            assertEquals(1, bulkhead.concurrentCalls());
            return "ok";
        }));
        AtomicLong ran = new AtomicLong();
        bulkhead.run(() -> ran.set(bulkhead.concurrentCalls()));
        assertEquals(1L, ran.get());
        assertEquals(2, bulkhead.availablePermits(), "every call gave its permit back");

        IOException failure = new IOException("down");
        IOException thrown = assertThrows(IOException.class, () -> bulkhead.call(() -> {
            throw failure;
        }));
        assertSame(failure, thrown, "the call's own exception propagates unchanged");
        assertEquals(2, bulkhead.availablePermits(), "a failed call gives its permit back");
        assertEquals(0L, bulkhead.rejectedCount());
    }

    @Test
    void aFullBulkheadRefusesCallGetAndRunWithBulkheadFullException() throws Exception {
        Bulkhead bulkhead = Bulkhead.builder().name("full").maxConcurrentCalls(1).scheduler(new ManualScheduler()).build();
        long held = bulkhead.tryAcquirePermit();
        AtomicLong ran = new AtomicLong();
        BulkheadFullException viaCall = assertThrows(BulkheadFullException.class, () -> bulkhead.call(ran::incrementAndGet));
        assertEquals("full", viaCall.policyName());
        assertEquals("bulkhead 'full' is full: 1 concurrent calls in flight", viaCall.getMessage());
        assertThrows(BulkheadFullException.class, () -> bulkhead.get(ran::incrementAndGet));
        assertThrows(BulkheadFullException.class, () -> bulkhead.run(ran::incrementAndGet));
        assertEquals(0L, ran.get(), "a refused call never runs");
        assertEquals(3L, bulkhead.rejectedCount());
        assertEquals(1, bulkhead.concurrentCalls(), "only the held permit is out");
        bulkhead.release(held);
        assertEquals(7L, (long) bulkhead.call(() -> 7L));
    }

    @Test
    void throughAPipelineARejectionThrowsAndAnInnerRejectionReleasesTheOuterPermit() throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        Bulkhead outer = Bulkhead.builder().name("outer").maxConcurrentCalls(2).scheduler(scheduler).build();
        Bulkhead inner = Bulkhead.builder().name("inner").maxConcurrentCalls(1).scheduler(scheduler).build();
        Pipeline pipeline = Pipeline.of(outer, inner);
        assertEquals(5, pipeline.call(() -> {
            assertEquals(1, outer.concurrentCalls());
            assertEquals(1, inner.concurrentCalls());
            return 5;
        }));
        assertEquals(2, outer.availablePermits());
        assertEquals(1, inner.availablePermits());

        long held = inner.tryAcquirePermit();
        BulkheadFullException rejected = assertThrows(BulkheadFullException.class, () -> pipeline.call(() -> 6));
        assertEquals("inner", rejected.policyName(), "the inner bulkhead refused");
        assertEquals("bulkhead 'inner' is full: 1 concurrent calls in flight", rejected.getMessage());
        assertEquals(2, outer.availablePermits(), "the outer permit was released, not leaked");
        assertEquals(0L, outer.rejectedCount());
        assertEquals(1L, inner.rejectedCount());
        assertThrows(BulkheadFullException.class, () -> pipeline.get(() -> 6));
        assertEquals(2, outer.availablePermits());
        inner.release(held);

        long o1 = outer.tryAcquirePermit();
        long o2 = outer.tryAcquirePermit();
        BulkheadFullException outerRejected = assertThrows(BulkheadFullException.class, () -> pipeline.call(() -> 6));
        assertEquals("outer", outerRejected.policyName());
        assertEquals(1, inner.availablePermits(), "the inner bulkhead was never reached");
        outer.release(o1);
        outer.release(o2);
        assertEquals(8, Pipeline.of(outer).call(() -> 8));
    }

    @Test
    void asynchronousCallsNeverWaitAndCancellingOneReleasesItsPermit() throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        Bulkhead bulkhead = Bulkhead.builder().name("async").maxConcurrentCalls(1).maxWait(Duration.ofSeconds(1))
                .scheduler(scheduler).build();
        CompletableFuture<String> underlying = new CompletableFuture<>();
        CompletableFuture<String> running = bulkhead.callAsync(() -> underlying).toCompletableFuture();
        assertEquals(1, bulkhead.concurrentCalls());

        CompletableFuture<String> refused = bulkhead.callAsync(() -> CompletableFuture.completedFuture("never")).toCompletableFuture();
        assertTrue(refused.isCompletedExceptionally(), "refused at once, even with a max wait");
        ExecutionException wrapped = assertThrows(ExecutionException.class, refused::get);
        assertInstanceOf(BulkheadFullException.class, wrapped.getCause());
        assertEquals(0, bulkhead.waitingCalls());

        assertTrue(running.cancel(true));
        assertEquals(1, bulkhead.availablePermits(), "cancelling the returned future released the permit");
        underlying.complete("late");
        assertEquals(1, bulkhead.availablePermits(), "the late completion does not end the permit twice");

        CompletableFuture<String> second = new CompletableFuture<>();
        CompletableFuture<String> done = bulkhead.callAsync(() -> second).toCompletableFuture();
        second.complete("v");
        assertEquals("v", done.join());
        assertEquals(1, bulkhead.availablePermits(), "completion ended the permit");
        assertEquals(1L, bulkhead.rejectedCount());
    }

    @Test
    void onResultReleasesForAnInterruptAndCompletesOtherwise() {
        Bulkhead bulkhead = Bulkhead.builder().name("on-result").maxConcurrentCalls(1).scheduler(new ManualScheduler()).build();
        bulkhead.onResult(bulkhead.tryAcquirePermit(), null, new InterruptedException(), 0L);
        assertEquals(1, bulkhead.availablePermits());
        bulkhead.onResult(bulkhead.tryAcquirePermit(), "ok", null, 0L);
        assertEquals(1, bulkhead.availablePermits());
        bulkhead.onResult(bulkhead.tryAcquirePermit(), null, new IOException(), 0L);
        assertEquals(1, bulkhead.availablePermits());
    }

    @Test
    void aBulkheadCountsCallsAndReadsNoClock() {
        ManualScheduler scheduler = new ManualScheduler();
        Bulkhead bulkhead = Bulkhead.builder().name("k").scheduler(scheduler).build();
        assertEquals("bulkhead", bulkhead.kind());
        assertEquals("k", bulkhead.name());
        assertFalse(bulkhead.measuresLatency());
        assertSame(scheduler.ticker(), bulkhead.ticker(), "the scheduler's ticker is the clock");
    }

    // ------------------------------------------------------------------ waiting

    @Test
    void waitersAreGrantedPermitsInArrivalOrder() throws Exception {
        guarded(() -> {
            ManualScheduler scheduler = new ManualScheduler();
            Bulkhead bulkhead = Bulkhead.builder().name("fifo").maxConcurrentCalls(1).maxWait(Duration.ofSeconds(1)).maxWaiters(5)
                    .scheduler(scheduler).build();
            long held = bulkhead.tryAcquirePermit();
            ConcurrentLinkedQueue<Integer> grantOrder = new ConcurrentLinkedQueue<>();
            List<Waiter> waiters = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                int index = i;
                Waiter waiter = Waiter.start(bulkhead, "fifo-" + i, permit -> grantOrder.add(index));
                // The waiting count grows when a thread is admitted to the queue, a moment before its node
                // is in it: wait for the count, then for the thread to be parked behind its node.
                await(() -> bulkhead.waitingCalls() == index + 1, "waiter " + i + " counted");
                waiter.awaitParked();
                waiters.add(waiter);
            }
            assertEquals(4, bulkhead.waitingCalls());
            assertEquals(AdmissionPolicy.REJECTED, bulkhead.tryAcquirePermit(), "no barging past the queue");

            long permit = held;
            for (int i = 0; i < 4; i++) {
                bulkhead.release(permit); // hands the permit straight to the longest waiter
                permit = waiters.get(i).outcome();
                assertNotEquals(AdmissionPolicy.REJECTED, permit, "waiter " + i + " was granted");
                assertEquals(3 - i, bulkhead.waitingCalls());
                assertEquals(0, bulkhead.availablePermits(), "the permit went to a waiter, not to the pool");
                for (int later = i + 1; later < 4; later++) {
                    assertFalse(waiters.get(later).result.isDone(), "waiter " + later + " still waits");
                }
            }
            assertEquals(List.of(0, 1, 2, 3), new ArrayList<>(grantOrder));
            bulkhead.release(permit);
            assertEquals(1, bulkhead.availablePermits());
            assertEquals(0, scheduler.pendingTasks(), "every granted waiter cancelled its timeout");
            assertEquals(1L, bulkhead.rejectedCount(), "only the barging tryAcquire was refused");
        });
    }

    @Test
    void aWaiterTimesOutInVirtualTimeLeavingNoWaiterAndNoLostPermit() throws Exception {
        guarded(() -> {
            ManualScheduler scheduler = new ManualScheduler();
            List<PolicyEvent> events = new CopyOnWriteArrayList<>(); // written by the waiter thread
            Bulkhead bulkhead = Bulkhead.builder().name("timeout").maxConcurrentCalls(1).maxWait(Duration.ofMillis(50))
                    .scheduler(scheduler).listener(events::add).build();
            long held = bulkhead.tryAcquirePermit();
            Waiter waiter = Waiter.start(bulkhead, "timeout-waiter");
            waiter.awaitParked();
            assertEquals(1, scheduler.pendingTasks(), "the waiter's time limit is a scheduled task");

            scheduler.advance(Duration.ofMillis(49));
            assertEquals(1, bulkhead.waitingCalls(), "49 ms: still waiting");
            assertFalse(waiter.result.isDone());
            scheduler.advance(Duration.ofMillis(1));
            assertEquals(0, bulkhead.waitingCalls(), "the timeout removed the waiter at once");
            assertEquals(AdmissionPolicy.REJECTED, waiter.outcome(), "50 ms: timed out");
            assertEquals(1L, bulkhead.rejectedCount());
            assertEquals(1, events.size());
            assertEquals(Duration.ofMillis(50).toNanos(), events.get(0).nanoTime());

            assertEquals(0, bulkhead.availablePermits());
            bulkhead.release(held);
            assertEquals(1, bulkhead.availablePermits(), "no permit went to the timed-out waiter");
            assertNotEquals(AdmissionPolicy.REJECTED, bulkhead.tryAcquirePermit(), "nobody waits, so nothing holds the permit back");
            assertEquals(0, scheduler.pendingTasks());
        });
    }

    @Test
    void aTimedOutCallThroughThePolicyApiThrowsBulkheadFullException() throws Exception {
        guarded(() -> {
            ManualScheduler scheduler = new ManualScheduler();
            Bulkhead bulkhead = Bulkhead.builder().name("api-wait").maxConcurrentCalls(1).maxWait(Duration.ofMillis(20))
                    .scheduler(scheduler).build();
            long held = bulkhead.tryAcquirePermit();
            CompletableFuture<Object> call = new CompletableFuture<>();
            Thread caller = daemon("api-caller", () -> {
                try {
                    call.complete(bulkhead.call(() -> "ran"));
                } catch (Throwable t) {
                    call.completeExceptionally(t);
                }
            });
            awaitParked(caller);
            scheduler.advance(Duration.ofMillis(20));
            ExecutionException wrapped = assertThrows(ExecutionException.class, () -> call.get(GUARD_SECONDS, TimeUnit.SECONDS));
            BulkheadFullException full = assertInstanceOf(BulkheadFullException.class, wrapped.getCause());
            assertEquals("api-wait", full.policyName());

            CompletableFuture<Object> second = new CompletableFuture<>();
            Thread waits = daemon("api-caller-2", () -> {
                try {
                    second.complete(bulkhead.call(() -> "ran after waiting"));
                } catch (Throwable t) {
                    second.completeExceptionally(t);
                }
            });
            awaitParked(waits);
            bulkhead.release(held);
            assertEquals("ran after waiting", second.get(GUARD_SECONDS, TimeUnit.SECONDS), "call waits for a permit");
            assertEquals(1, bulkhead.availablePermits());
        });
    }

    @Test
    void anInterruptedWaiterThrowsAndHoldsNoPermit() throws Exception {
        guarded(() -> {
            ManualScheduler scheduler = new ManualScheduler();
            Bulkhead bulkhead = Bulkhead.builder().name("interrupt").maxConcurrentCalls(1).maxWait(Duration.ofSeconds(1))
                    .scheduler(scheduler).build();
            long held = bulkhead.tryAcquirePermit();
            Waiter waiter = Waiter.start(bulkhead, "interrupted-waiter");
            waiter.awaitParked();
            waiter.thread.interrupt();
            ExecutionException wrapped = assertThrows(ExecutionException.class, () -> waiter.result.get(GUARD_SECONDS, TimeUnit.SECONDS));
            assertInstanceOf(InterruptedException.class, wrapped.getCause());
            assertEquals(0, bulkhead.waitingCalls());
            assertEquals(0, scheduler.pendingTasks(), "its timeout was cancelled");
            assertEquals(0L, bulkhead.rejectedCount(), "an interrupt is not a refusal");
            bulkhead.release(held);
            assertEquals(1, bulkhead.availablePermits(), "the interrupted waiter holds nothing");
        });
    }

    @Test
    void aThreadInterruptedBeforeItWouldWaitThrowsAtOnceWithItsFlagCleared() throws Exception {
        Bulkhead bulkhead = Bulkhead.builder().name("pre-interrupt").maxConcurrentCalls(1).maxWait(Duration.ofSeconds(1))
                .scheduler(new ManualScheduler()).build();
        long held = bulkhead.tryAcquirePermit();
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, bulkhead::acquirePermit);
        assertFalse(Thread.interrupted(), "InterruptedException cleared the flag");
        assertEquals(0, bulkhead.waitingCalls());
        bulkhead.release(held);
        assertEquals(1, bulkhead.availablePermits());
    }

    @Test
    void beyondMaxWaitersACallerIsRefusedAtOnce() throws Exception {
        guarded(() -> {
            ManualScheduler scheduler = new ManualScheduler();
            Bulkhead bulkhead = Bulkhead.builder().name("max-waiters").maxConcurrentCalls(1).maxWait(Duration.ofSeconds(1)).maxWaiters(2)
                    .scheduler(scheduler).build();
            long held = bulkhead.tryAcquirePermit();
            Waiter first = Waiter.start(bulkhead, "mw-1");
            first.awaitParked();
            Waiter second = Waiter.start(bulkhead, "mw-2");
            second.awaitParked();
            assertEquals(2, bulkhead.waitingCalls());
            assertEquals(AdmissionPolicy.REJECTED, bulkhead.acquirePermit(), "a third waiter is refused without waiting");
            assertEquals(1L, bulkhead.rejectedCount());
            assertEquals(2, bulkhead.waitingCalls());
            scheduler.advance(Duration.ofSeconds(1));
            assertEquals(AdmissionPolicy.REJECTED, first.outcome());
            assertEquals(AdmissionPolicy.REJECTED, second.outcome());
            assertEquals(3L, bulkhead.rejectedCount());
            bulkhead.release(held);
            assertEquals(1, bulkhead.availablePermits());
        });
    }

    @Test
    void maxWaitersDefaultsToTheCap() throws Exception {
        guarded(() -> {
            ManualScheduler scheduler = new ManualScheduler();
            Bulkhead bulkhead = Bulkhead.builder().name("default-waiters").maxConcurrentCalls(2).maxWait(Duration.ofSeconds(1))
                    .scheduler(scheduler).build();
            long a = bulkhead.tryAcquirePermit();
            long b = bulkhead.tryAcquirePermit();
            Waiter first = Waiter.start(bulkhead, "dw-1");
            first.awaitParked();
            Waiter second = Waiter.start(bulkhead, "dw-2");
            second.awaitParked();
            assertEquals(AdmissionPolicy.REJECTED, bulkhead.acquirePermit(), "two waiters for a cap of two");
            bulkhead.release(a);
            bulkhead.release(b);
            bulkhead.release(first.outcome());
            bulkhead.release(second.outcome());
            assertEquals(2, bulkhead.availablePermits());
        });
    }

    /**
     * A permit freed while a thread is between joining the queue's count and inserting its node goes
     * back to the pool (the drain finds no node), and for that moment a permit is free while someone
     * waits: {@code tryAcquirePermit} must still refuse, and the waiter must then take that permit.
     * A scheduler whose {@code schedule} blocks holds the waiter at exactly that point.
     */
    @Test
    void tryAcquireIsRefusedWhileSomeoneWaitsEvenWithAPermitFree() throws Exception {
        guarded(() -> {
            GatedScheduler scheduler = new GatedScheduler();
            Bulkhead bulkhead = Bulkhead.builder().name("fair").maxConcurrentCalls(1).maxWait(Duration.ofSeconds(1))
                    .scheduler(scheduler).build();
            long held = bulkhead.tryAcquirePermit();
            Waiter waiter = Waiter.start(bulkhead, "fair-waiter");
            assertTrue(scheduler.entered.await(GUARD_SECONDS, TimeUnit.SECONDS), "the waiter schedules its time limit");
            assertEquals(1, bulkhead.waitingCalls());
            bulkhead.release(held);
            assertEquals(1, bulkhead.availablePermits(), "a permit is free...");
            assertEquals(1, bulkhead.waitingCalls(), "...while someone waits");
            assertEquals(AdmissionPolicy.REJECTED, bulkhead.tryAcquirePermit(), "the waiter's claim comes first");
            assertEquals(1L, bulkhead.rejectedCount());
            assertEquals(1, bulkhead.availablePermits(), "the refusal took nothing");

            scheduler.open.countDown();
            long permit = waiter.outcome();
            assertNotEquals(AdmissionPolicy.REJECTED, permit, "the waiter took the free permit");
            assertEquals(0, bulkhead.availablePermits());
            assertEquals(0, bulkhead.waitingCalls());
            bulkhead.release(permit);
            assertNotEquals(AdmissionPolicy.REJECTED, bulkhead.tryAcquirePermit(), "with nobody waiting, tryAcquire admits again");
        });
    }

    /**
     * The timeout (run by {@code advance} on one thread) and a release (on another) race for the same
     * waiter, many times: whichever wins, the permit ends up with the waiter (which then gives it back)
     * or in the pool, never with nobody.
     */
    @Test
    void aPermitGrantedAsItsWaiterTimesOutIsNeverLost() throws Exception {
        guarded(() -> {
            int timedOut = 0;
            for (int round = 0; round < 300; round++) {
                ManualScheduler scheduler = new ManualScheduler();
                Bulkhead bulkhead = Bulkhead.builder().name("race-timeout").maxConcurrentCalls(1).maxWait(Duration.ofMillis(10))
                        .scheduler(scheduler).build();
                long held = bulkhead.tryAcquirePermit();
                Waiter waiter = Waiter.start(bulkhead, "race-waiter");
                waiter.awaitParked();
                race(() -> bulkhead.release(held), () -> scheduler.advance(Duration.ofMillis(10)));
                long outcome = waiter.outcome();
                if (outcome == AdmissionPolicy.REJECTED) {
                    timedOut++;
                    assertEquals(1L, bulkhead.rejectedCount(), "round " + round);
                } else {
                    assertEquals(0L, bulkhead.rejectedCount(), "round " + round);
                    assertEquals(0, bulkhead.availablePermits(), "round " + round + ": the waiter holds the permit");
                    bulkhead.release(outcome);
                }
                assertEquals(1, bulkhead.availablePermits(), "round " + round + ": at rest the permit is back");
                assertEquals(0, bulkhead.waitingCalls(), "round " + round);
                assertEquals(0, scheduler.pendingTasks(), "round " + round);
                assertNotEquals(AdmissionPolicy.REJECTED, bulkhead.tryAcquirePermit(), "round " + round + ": and it can be taken");
            }
            System.out.println("[BulkheadTest] timeout-vs-release race: " + timedOut + " of 300 rounds timed out");
        });
    }

    /**
     * An interrupt and a release race for the head of two waiters, many times: the head either gets
     * the permit or throws {@link InterruptedException}, and in the second case the permit reaches the
     * next waiter (handed on if the head was granted just before it saw its interrupt).
     */
    @Test
    void aPermitGrantedAsItsWaiterIsInterruptedIsHandedOn() throws Exception {
        guarded(() -> {
            int interrupted = 0;
            for (int round = 0; round < 200; round++) {
                ManualScheduler scheduler = new ManualScheduler();
                Bulkhead bulkhead = Bulkhead.builder().name("race-interrupt").maxConcurrentCalls(1).maxWait(Duration.ofHours(1)).maxWaiters(2)
                        .scheduler(scheduler).build();
                long held = bulkhead.tryAcquirePermit();
                Waiter head = Waiter.start(bulkhead, "race-head");
                head.awaitParked();
                Waiter next = Waiter.start(bulkhead, "race-next");
                next.awaitParked();
                race(() -> bulkhead.release(held), head.thread::interrupt);
                Long headPermit;
                try {
                    headPermit = head.result.get(GUARD_SECONDS, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    assertInstanceOf(InterruptedException.class, e.getCause(), "round " + round);
                    headPermit = null;
                    interrupted++;
                }
                if (headPermit != null) {
                    assertNotEquals(AdmissionPolicy.REJECTED, (long) headPermit, "round " + round);
                    assertEquals(1, bulkhead.waitingCalls(), "round " + round + ": the next waiter still waits");
                    bulkhead.release(headPermit);
                }
                long nextPermit = next.outcome();
                assertNotEquals(AdmissionPolicy.REJECTED, nextPermit, "round " + round + ": the permit reached the next waiter");
                assertEquals(0, bulkhead.availablePermits(), "round " + round);
                bulkhead.release(nextPermit);
                assertEquals(1, bulkhead.availablePermits(), "round " + round + ": at rest the permit is back");
                assertEquals(0, bulkhead.waitingCalls(), "round " + round);
                assertEquals(0, scheduler.pendingTasks(), "round " + round);
                assertEquals(0L, bulkhead.rejectedCount(), "round " + round);
            }
            System.out.println("[BulkheadTest] interrupt-vs-release race: " + interrupted + " of 200 heads interrupted");
        });
    }

    @Test
    void aWaiterThatTimedOutButIsStillQueuedIsSkippedByTheNextRelease() throws Exception {
        guarded(() -> {
            ManualScheduler scheduler = new ManualScheduler();
            Bulkhead bulkhead = Bulkhead.builder().name("skip").maxConcurrentCalls(1).maxWait(Duration.ofMillis(10)).maxWaiters(2)
                    .scheduler(scheduler).build();
            long held = bulkhead.tryAcquirePermit();
            Waiter early = Waiter.start(bulkhead, "early");
            early.awaitParked();
            scheduler.advance(Duration.ofMillis(5));
            Waiter late = Waiter.start(bulkhead, "late");
            late.awaitParked();
            scheduler.advance(Duration.ofMillis(5)); // the early waiter's time is up, the late one has 5 ms left
            assertEquals(AdmissionPolicy.REJECTED, early.outcome());
            assertEquals(1, bulkhead.waitingCalls());
            bulkhead.release(held);
            long permit = late.outcome();
            assertNotEquals(AdmissionPolicy.REJECTED, permit, "the permit went to the waiter still waiting");
            assertEquals(0, bulkhead.availablePermits());
            bulkhead.release(permit);
            assertEquals(1, bulkhead.availablePermits());
            assertEquals(0, scheduler.pendingTasks());
        });
    }

    /**
     * {@link Scheduler#schedule} may throw ({@link RejectedExecutionException} from a scheduler that was
     * shut down). A caller that would wait then cannot have a time limit; whatever it gets (the
     * scheduler's exception or a refusal), it must leave nothing behind: a waiter counted but never
     * queued would keep {@code waitingCalls()} above 0 for good, and with it every
     * {@code tryAcquirePermit} refused ("refused while anyone waits"), so the bulkhead would admit
     * nothing without waiting again.
     */
    @Test
    void aSchedulerThatRefusesTheTimeLimitLeavesNoPhantomWaiter() throws Exception {
        ManualTicker ticker = new ManualTicker();
        Scheduler refusing = new Scheduler() {
            @Override
            public Task schedule(Runnable task, long delayNanos) {
                throw new RejectedExecutionException("scheduler shut down");
            }

            @Override
            public Ticker ticker() {
                return ticker;
            }
        };
        Bulkhead bulkhead = Bulkhead.builder().name("refusing-scheduler").maxConcurrentCalls(1).maxWait(Duration.ofSeconds(1))
                .scheduler(refusing).build();
        long held = bulkhead.tryAcquirePermit();
        try {
            assertEquals(AdmissionPolicy.REJECTED, bulkhead.acquirePermit(), "no time limit: no wait");
        } catch (RejectedExecutionException expected) {
            // the scheduler's refusal may propagate
        }
        assertEquals(0, bulkhead.waitingCalls(), "no phantom waiter is left counted");
        bulkhead.release(held);
        assertEquals(1, bulkhead.availablePermits());
        assertNotEquals(AdmissionPolicy.REJECTED, bulkhead.tryAcquirePermit(), "with nobody waiting, tryAcquirePermit admits");
    }

    // ------------------------------------------------------------------ health and metrics

    @Test
    void healthIsUpWithAFreePermitAndDegradedWhenSaturated() throws Exception {
        guarded(() -> {
            ManualScheduler scheduler = new ManualScheduler();
            Bulkhead bulkhead = Bulkhead.builder().name("health").maxConcurrentCalls(2).scheduler(scheduler).build();
            assertEquals(Health.up(), bulkhead.health());
            long a = bulkhead.tryAcquirePermit();
            assertEquals(Health.Status.UP, bulkhead.health().status(), "one permit free");
            long b = bulkhead.tryAcquirePermit();
            Health saturated = bulkhead.health();
            assertEquals(Health.Status.DEGRADED, saturated.status());
            assertTrue(saturated.reason().contains("saturated") && saturated.reason().contains("2"), saturated.reason());
            bulkhead.release(a);
            assertEquals(Health.Status.UP, bulkhead.health().status());
            bulkhead.release(b);

            Bulkhead waiting = Bulkhead.builder().name("health-wait").maxConcurrentCalls(1).maxWait(Duration.ofMillis(1))
                    .scheduler(scheduler).build();
            waiting.tryAcquirePermit();
            Waiter waiter = Waiter.start(waiting, "health-waiter");
            waiter.awaitParked();
            Health withWaiter = waiting.health();
            assertEquals(Health.Status.DEGRADED, withWaiter.status());
            assertTrue(withWaiter.reason().contains("1 waiting"), withWaiter.reason());
            scheduler.advance(Duration.ofMillis(1));
            assertEquals(AdmissionPolicy.REJECTED, waiter.outcome());
        });
    }

    @Test
    void metricsReadTheBulkheadThroughVigilMetrics() throws Exception {
        guarded(() -> {
            ManualScheduler scheduler = new ManualScheduler();
            Bulkhead bulkhead = Bulkhead.builder().name("metered").maxConcurrentCalls(3).maxWait(Duration.ofMillis(10))
                    .scheduler(scheduler).build();
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            VigilMetrics.bind(registry, bulkhead);
            assertEquals(0.0, gauge(registry, "vigil.bulkhead.concurrent.calls"));
            assertEquals(3.0, gauge(registry, "vigil.bulkhead.available.permits"));
            assertEquals(3.0, gauge(registry, "vigil.bulkhead.max.concurrent.calls"));
            assertEquals(0.0, gauge(registry, "vigil.bulkhead.waiting.calls"));
            assertEquals(0.0, rejected(registry));

            long a = bulkhead.tryAcquirePermit();
            bulkhead.tryAcquirePermit();
            bulkhead.tryAcquirePermit();
            assertEquals(3.0, gauge(registry, "vigil.bulkhead.concurrent.calls"));
            assertEquals(0.0, gauge(registry, "vigil.bulkhead.available.permits"));
            assertEquals(AdmissionPolicy.REJECTED, bulkhead.tryAcquirePermit());
            assertEquals(1.0, rejected(registry));

            Waiter waiter = Waiter.start(bulkhead, "metered-waiter");
            waiter.awaitParked();
            assertEquals(1.0, gauge(registry, "vigil.bulkhead.waiting.calls"));
            scheduler.advance(Duration.ofMillis(10));
            assertEquals(AdmissionPolicy.REJECTED, waiter.outcome());
            assertEquals(0.0, gauge(registry, "vigil.bulkhead.waiting.calls"));
            assertEquals(2.0, rejected(registry), "a timed-out waiter is a rejected call");

            bulkhead.release(a);
            assertEquals(2.0, gauge(registry, "vigil.bulkhead.concurrent.calls"));
            assertEquals(1.0, gauge(registry, "vigil.bulkhead.available.permits"));
            assertEquals(3.0, gauge(registry, "vigil.bulkhead.max.concurrent.calls"));
        });
    }

    private static double gauge(SimpleMeterRegistry registry, String name) {
        return registry.get(name).tag("name", "metered").tag("kind", "bulkhead").gauge().value();
    }

    private static double rejected(SimpleMeterRegistry registry) {
        return registry.get("vigil.calls").tag("name", "metered").tag("kind", "bulkhead").tag("outcome", "rejected").functionCounter().count();
    }

    // ------------------------------------------------------------------ the builder

    @Test
    void everyBadBuilderInputThrowsNamingTheParameter() {
        assertNames("maxConcurrentCalls", () -> Bulkhead.builder().maxConcurrentCalls(0));
        assertNames("maxConcurrentCalls", () -> Bulkhead.builder().maxConcurrentCalls(-1));
        assertNames("maxConcurrentCalls", () -> Bulkhead.builder().maxConcurrentCalls(1_000_001));
        assertNames("maxWait", () -> Bulkhead.builder().maxWait(Duration.ofNanos(-1)));
        assertNames("maxWait", () -> Bulkhead.builder().maxWait(null));
        assertNames("maxWait", () -> Bulkhead.builder().maxWait(Checks.MAX_DURATION.plusNanos(1)));
        assertNames("maxWaiters", () -> Bulkhead.builder().maxWaiters(0));
        assertNames("maxWaiters", () -> Bulkhead.builder().maxWaiters(1_000_001));
        assertNames("name", () -> Bulkhead.builder().name(null));
        assertNames("name", () -> Bulkhead.builder().name(" "));
        assertNames("scheduler", () -> Bulkhead.builder().scheduler(null));
        assertNames("listener", () -> Bulkhead.builder().listener(null));
        IllegalArgumentException noWait = assertThrows(IllegalArgumentException.class, () -> Bulkhead.builder().maxWaiters(3).build());
        assertTrue(noWait.getMessage().contains("maxWaiters") && noWait.getMessage().contains("maxWait"), noWait.getMessage());
        IllegalArgumentException zeroWait = assertThrows(IllegalArgumentException.class,
                () -> Bulkhead.builder().maxWaiters(3).maxWait(Duration.ZERO).build());
        assertTrue(zeroWait.getMessage().contains("maxWaiters"), zeroWait.getMessage());
    }

    @Test
    void theBuilderAcceptsItsBoundsAndHasTheDocumentedDefaults() throws Exception {
        Bulkhead largest = Bulkhead.builder().maxConcurrentCalls(1_000_000).maxWait(Checks.MAX_DURATION).maxWaiters(1_000_000)
                .scheduler(new ManualScheduler()).build();
        assertEquals(1_000_000, largest.maxConcurrentCalls());
        assertEquals(1_000_000, largest.availablePermits());
        Bulkhead defaults = Bulkhead.builder().scheduler(new ManualScheduler()).build();
        assertEquals("bulkhead", defaults.name());
        assertEquals(25, defaults.maxConcurrentCalls());
        for (int i = 0; i < 25; i++) {
            assertNotEquals(AdmissionPolicy.REJECTED, defaults.tryAcquirePermit());
        }
        assertEquals(AdmissionPolicy.REJECTED, defaults.acquirePermit(), "no max wait by default: refused at once");
        assertEquals(0, defaults.waitingCalls());
    }

    @Test
    void ofBuildsANamedBulkheadWithoutWaiting() throws Exception {
        Bulkhead bulkhead = Bulkhead.of("of", 2);
        assertEquals("of", bulkhead.name());
        assertEquals(2, bulkhead.maxConcurrentCalls());
        long a = bulkhead.tryAcquirePermit();
        bulkhead.tryAcquirePermit();
        assertEquals(AdmissionPolicy.REJECTED, bulkhead.acquirePermit(), "no waiting");
        assertEquals("bulkhead 'of' is full: 2 concurrent calls in flight", bulkhead.rejection().getMessage());
        bulkhead.release(a);
        assertNames("maxConcurrentCalls", () -> Bulkhead.of("of", 0));
        assertNames("name", () -> Bulkhead.of(null, 1));
    }

    @Test
    void toStringNamesTheBulkheadItsCapAndItsMaxWait() {
        String plain = Bulkhead.builder().name("shown").maxConcurrentCalls(4).scheduler(new ManualScheduler()).build().toString();
        assertTrue(plain.contains("shown") && plain.contains("maxConcurrentCalls=4") && !plain.contains("maxWait"), plain);
        String waiting = Bulkhead.builder().name("shown").maxConcurrentCalls(4).maxWait(Duration.ofMillis(50))
                .scheduler(new ManualScheduler()).build().toString();
        assertTrue(waiting.contains("shown") && waiting.contains("maxConcurrentCalls=4") && waiting.contains("maxWait=PT0.05S"), waiting);
    }

    private static void assertNames(String parameter, Executable executable) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, executable, parameter);
        assertTrue(e.getMessage().startsWith(parameter + " "), "the message names " + parameter + ": " + e.getMessage());
    }

    // ------------------------------------------------------------------ helpers

    /** Fails instead of hanging if a waiting test goes wrong. */
    private static void guarded(Executable test) {
        assertTimeoutPreemptively(Duration.ofSeconds(60), test);
    }

    /** Spins (yielding) until {@code condition}; the bound is a failure guard, not a timing assertion. */
    static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(GUARD_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("gave up waiting for " + what);
            }
            Thread.yield();
        }
    }

    /** Waits until {@code thread} is parked in a bulkhead's wait queue (its node is then in the queue). */
    static void awaitParked(Thread thread) {
        await(() -> LockSupport.getBlocker(thread) instanceof WaitQueue, thread.getName() + " parked in the wait queue");
    }

    static Thread daemon(String name, Runnable body) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    /** Runs the two actions on two fresh threads released together, and waits for both. */
    static void race(Runnable first, Runnable second) throws Exception {
        CyclicBarrier barrier = new CyclicBarrier(2);
        CompletableFuture<Void> a = new CompletableFuture<>();
        CompletableFuture<Void> b = new CompletableFuture<>();
        daemon("racer-1", () -> runAfter(barrier, first, a));
        daemon("racer-2", () -> runAfter(barrier, second, b));
        a.get(GUARD_SECONDS, TimeUnit.SECONDS);
        b.get(GUARD_SECONDS, TimeUnit.SECONDS);
    }

    private static void runAfter(CyclicBarrier barrier, Runnable action, CompletableFuture<Void> done) {
        try {
            barrier.await();
            action.run();
            done.complete(null);
        } catch (Throwable t) {
            done.completeExceptionally(t);
        }
    }

    /** A thread in {@link Bulkhead#acquirePermit()}, and how that call ended. */
    static final class Waiter {
        final Thread thread;
        /** The permit or {@link AdmissionPolicy#REJECTED}; exceptionally what the call threw. */
        final CompletableFuture<Long> result = new CompletableFuture<>();

        private Waiter(AdmissionPolicy policy, String name, LongConsumer onPermit) {
            this.thread = daemon(name, () -> {
                try {
                    long permit = policy.acquirePermit();
                    if (permit != AdmissionPolicy.REJECTED) {
                        onPermit.accept(permit);
                    }
                    result.complete(permit);
                } catch (Throwable t) {
                    result.completeExceptionally(t);
                }
            });
        }

        static Waiter start(AdmissionPolicy policy, String name) {
            return new Waiter(policy, name, permit -> { });
        }

        static Waiter start(AdmissionPolicy policy, String name, LongConsumer onPermit) {
            return new Waiter(policy, name, onPermit);
        }

        void awaitParked() {
            BulkheadTest.awaitParked(thread);
        }

        /** @return the permit or REJECTED, once the call has returned */
        long outcome() throws Exception {
            try {
                return result.get(GUARD_SECONDS, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new CompletionException("the waiter threw", e.getCause());
            }
        }
    }

    /**
     * A {@link ManualScheduler} whose {@code schedule} signals {@link #entered} and then blocks until
     * {@link #open}: holds a waiter between joining the queue's count and inserting its node.
     */
    static final class GatedScheduler implements Scheduler {
        final ManualScheduler delegate = new ManualScheduler();
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch open = new CountDownLatch(1);

        @Override
        public Task schedule(Runnable task, long delayNanos) {
            entered.countDown();
            try {
                if (!open.await(GUARD_SECONDS, TimeUnit.SECONDS)) {
                    throw new AssertionError("the gate was never opened");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return delegate.schedule(task, delayNanos);
        }

        @Override
        public Ticker ticker() {
            return delegate.ticker();
        }
    }

    @Test
    void endingARejectedPermitIsRefusedAndChangesNothing() {
        Bulkhead bulkhead = Bulkhead.of("ends", 2);
        long permit = bulkhead.tryAcquirePermit();
        IllegalArgumentException release = assertThrows(IllegalArgumentException.class, () -> bulkhead.release(AdmissionPolicy.REJECTED));
        assertTrue(release.getMessage().contains("permit"), release.getMessage());
        assertThrows(IllegalArgumentException.class, () -> bulkhead.complete(AdmissionPolicy.REJECTED, Outcome.SUCCESS, 0));
        assertEquals(1, bulkhead.availablePermits(), "no permit appeared from a refused call");
        bulkhead.release(permit);
        assertEquals(2, bulkhead.availablePermits());
    }
}
