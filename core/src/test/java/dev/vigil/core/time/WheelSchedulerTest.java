package dev.vigil.core.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The timing wheel driven by a {@link ManualTicker}: its thread really runs, but time only moves
 * when the test moves it, so "not yet due" is checked exactly and "due" is awaited with a latch.
 */
class WheelSchedulerTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    private final ManualTicker ticker = new ManualTicker(7 * MS + 3);
    private final WheelScheduler wheel = new WheelScheduler(ticker, "wheel-test");

    @AfterEach
    void stop() {
        wheel.shutdown();
    }

    @Test
    void firesEachTaskOnceAtOrAfterItsDeadlineInDeadlineOrder() throws InterruptedException {
        List<Long> firedAt = new CopyOnWriteArrayList<>();
        List<Integer> order = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(3);
        long start = ticker.read();
        long[] delays = {30 * MS, 5 * MS, 2_000 * MS}; // the last one needs two turns of the wheel
        for (int i = 0; i < delays.length; i++) {
            int index = i;
            long delay = delays[i];
            wheel.schedule(() -> {
                firedAt.add(ticker.read() - start - delay);
                order.add(index);
                done.countDown();
            }, delay);
        }
        ticker.advanceNanos(4 * MS);
        assertFalse(done.await(20, TimeUnit.MILLISECONDS), "nothing is due yet");
        ticker.advanceNanos(1 * MS);
        awaitCount(order, 1);
        ticker.advanceNanos(1_000 * MS);
        awaitCount(order, 2);
        ticker.advanceNanos(1_000 * MS);
        assertTrue(done.await(10, TimeUnit.SECONDS));
        assertEquals(List.of(1, 0, 2), order);
        for (long lateness : firedAt) {
            assertTrue(lateness >= 0, "fired before its deadline by " + -lateness + "ns");
        }
    }

    @Test
    void scheduleAtTakesAReadingOfTheSchedulersOwnClock() throws InterruptedException {
        assertSame(ticker, wheel.ticker());
        CountDownLatch done = new CountDownLatch(1);
        long deadline = ticker.read() + 10 * MS;
        wheel.scheduleAt(done::countDown, deadline);
        ticker.advanceNanos(9 * MS);
        assertFalse(done.await(20, TimeUnit.MILLISECONDS), "not due yet");
        ticker.advanceNanos(MS);
        assertTrue(done.await(10, TimeUnit.SECONDS));
    }

    @Test
    void cancelledTasksNeverRun() throws InterruptedException {
        AtomicInteger ran = new AtomicInteger();
        CountDownLatch sentinel = new CountDownLatch(1);
        Scheduler.Task cancelled = wheel.schedule(ran::incrementAndGet, 10 * MS);
        wheel.schedule(sentinel::countDown, 20 * MS);
        assertTrue(cancelled.cancel());
        assertFalse(cancelled.cancel());
        ticker.advanceNanos(25 * MS);
        assertTrue(sentinel.await(10, TimeUnit.SECONDS));
        assertEquals(0, ran.get());
    }

    @Test
    void zeroAndNegativeDelaysRunPromptly() throws InterruptedException {
        CountDownLatch done = new CountDownLatch(2);
        wheel.schedule(done::countDown, 0L);
        wheel.schedule(done::countDown, -5L);
        assertTrue(done.await(10, TimeUnit.SECONDS));
    }

    @Test
    void manyProducersLoseNoTask() throws InterruptedException {
        int producers = 4;
        int perProducer = 2_000;
        CountDownLatch done = new CountDownLatch(producers * perProducer);
        AtomicInteger cancelledCount = new AtomicInteger();
        Thread[] threads = new Thread[producers];
        for (int p = 0; p < producers; p++) {
            threads[p] = new Thread(() -> {
                for (int i = 0; i < perProducer; i++) {
                    Scheduler.Task task = wheel.schedule(done::countDown, (i % 50) * MS);
                    if (i % 3 == 0 && task.cancel()) {
                        cancelledCount.incrementAndGet();
                        done.countDown();
                    }
                }
            });
            threads[p].start();
        }
        for (Thread thread : threads) {
            thread.join();
        }
        ticker.advanceNanos(60 * MS);
        assertTrue(done.await(30, TimeUnit.SECONDS), "left: " + done.getCount());
        assertTrue(cancelledCount.get() > 0);
    }

    @Test
    void aThrowingTaskDoesNotStopTheTimer() throws InterruptedException {
        CountDownLatch after = new CountDownLatch(1);
        wheel.schedule(() -> {
            throw new IllegalStateException("task bug (expected in this test)");
        }, MS);
        wheel.schedule(after::countDown, 2 * MS);
        ticker.advanceNanos(3 * MS);
        assertTrue(after.await(10, TimeUnit.SECONDS));
    }

    @Test
    void aTaskThrowingAnErrorDoesNotKillTheTimerThread() throws InterruptedException {
        CountDownLatch after = new CountDownLatch(1);
        wheel.schedule(() -> {
            throw new StackOverflowError("task error (expected in this test)");
        }, MS);
        wheel.schedule(after::countDown, 2 * MS);
        ticker.advanceNanos(3 * MS);
        assertTrue(after.await(10, TimeUnit.SECONDS), "the timer thread survived the error");
    }

    @Test
    void rejectsNullTasksAndWorkAfterShutdown() {
        assertThrows(IllegalArgumentException.class, () -> wheel.schedule(null, 1L));
        wheel.shutdown();
        assertThrows(RejectedExecutionException.class, () -> wheel.schedule(() -> {}, 1L));
    }

    @Test
    void theSharedSchedulerRunsTasks() throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        Scheduler.shared().schedule(done::countDown, java.time.Duration.ofMillis(1));
        assertTrue(done.await(10, TimeUnit.SECONDS));
    }

    private static void awaitCount(List<?> list, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (list.size() < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("expected " + count + " fired, got " + list.size());
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }
}
