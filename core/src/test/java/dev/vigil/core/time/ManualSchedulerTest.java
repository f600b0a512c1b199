package dev.vigil.core.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManualSchedulerTest {

    @Test
    void deadlinesOnEitherSideOfAWrappingTickerRunInOrderWhenDue() {
        // Ticker readings have an arbitrary origin; only differences count, also across Long.MAX_VALUE.
        ManualScheduler scheduler = new ManualScheduler(new ManualTicker(Long.MAX_VALUE - 10));
        List<String> ran = new ArrayList<>();
        scheduler.schedule(() -> ran.add("before the wrap"), 5);
        scheduler.schedule(() -> ran.add("after the wrap"), 20);
        assertEquals(1, scheduler.advance(Duration.ofNanos(10)), "the task due 5 ns in runs");
        assertEquals(List.of("before the wrap"), ran);
        assertEquals(1, scheduler.advance(Duration.ofNanos(10)));
        assertEquals(List.of("before the wrap", "after the wrap"), ran);
    }
    private final ManualScheduler scheduler = new ManualScheduler();
    private final List<String> ran = new ArrayList<>();

    @Test
    void runsDueTasksInDeadlineOrderWithTheClockAtEachDeadline() {
        ManualTicker ticker = scheduler.ticker();
        scheduler.schedule(() -> ran.add("b@" + ticker.read()), Duration.ofMillis(20));
        scheduler.schedule(() -> ran.add("a@" + ticker.read()), Duration.ofMillis(10));
        scheduler.schedule(() -> ran.add("c@" + ticker.read()), Duration.ofMillis(20));
        scheduler.schedule(() -> ran.add("late"), Duration.ofMillis(31));
        assertEquals(3, scheduler.advance(Duration.ofMillis(30)));
        assertEquals(List.of("a@10000000", "b@20000000", "c@20000000"), ran);
        assertEquals(30_000_000L, ticker.read());
        assertEquals(1, scheduler.pendingTasks());
        assertEquals(1_000_000L, scheduler.nanosUntilNextTask());
    }

    @Test
    void runsTasksThatTasksScheduleWhenTheyFallDueWithinTheSameAdvance() {
        scheduler.schedule(() -> {
            ran.add("first");
            scheduler.schedule(() -> ran.add("second"), Duration.ofMillis(5));
            scheduler.schedule(() -> ran.add("too late"), Duration.ofMillis(50));
        }, Duration.ofMillis(10));
        scheduler.advance(Duration.ofMillis(15));
        assertEquals(List.of("first", "second"), ran);
        assertEquals(1, scheduler.pendingTasks());
    }

    @Test
    void cancelledTasksNeverRunAndCancelOnlyOnce() {
        Scheduler.Task task = scheduler.schedule(() -> ran.add("x"), Duration.ofMillis(1));
        assertTrue(task.cancel());
        assertFalse(task.cancel());
        scheduler.advance(Duration.ofSeconds(1));
        assertTrue(ran.isEmpty());
        assertEquals(-1L, scheduler.nanosUntilNextTask());
    }

    @Test
    void scheduleAtUsesTheVirtualClock() {
        scheduler.ticker().advanceNanos(1_000);
        scheduler.scheduleAt(() -> ran.add("at 5000"), 5_000);
        scheduler.scheduleAt(() -> ran.add("overdue"), 10);
        assertEquals(1, scheduler.runDueTasks());
        assertEquals(List.of("overdue"), ran);
        scheduler.advance(Duration.ofNanos(4_000));
        assertEquals(List.of("overdue", "at 5000"), ran);
    }

    @Test
    void zeroDelayRunsOnTheNextRunDueTasks() {
        scheduler.schedule(() -> ran.add("now"), 0L);
        assertTrue(ran.isEmpty());
        assertEquals(1, scheduler.runDueTasks());
        assertEquals(List.of("now"), ran);
        assertEquals(0L, scheduler.ticker().read());
    }

    @Test
    void aThrowingTaskDoesNotStopTheOthers() {
        scheduler.schedule(() -> {
            throw new IllegalStateException("task bug (expected in this test)");
        }, Duration.ofMillis(1));
        scheduler.schedule(() -> ran.add("after"), Duration.ofMillis(2));
        scheduler.advance(Duration.ofMillis(2));
        assertEquals(List.of("after"), ran);
    }

    @Test
    void timeNeverGoesBackwards() {
        ManualTicker ticker = new ManualTicker(100);
        assertEquals(100, ticker.advanceTo(50));
        assertEquals(150, ticker.advanceNanos(50));
        assertThrows(IllegalArgumentException.class, () -> ticker.advance(Duration.ofNanos(-1)));
        assertThrows(IllegalArgumentException.class, () -> ticker.advanceNanos(-1));
        assertThrows(IllegalArgumentException.class, () -> scheduler.advance(Duration.ofNanos(-1)));
        assertThrows(IllegalArgumentException.class, () -> new ManualScheduler(null));
        assertThrows(IllegalArgumentException.class, () -> scheduler.schedule(null, 1L));
    }
}
