package dev.vigil.circuitbreaker;

import static dev.vigil.circuitbreaker.SlidingWindow.FAILURE;
import static dev.vigil.circuitbreaker.SlidingWindow.FAILURE_RATE_EXCEEDED;
import static dev.vigil.circuitbreaker.SlidingWindow.HEALTHY;
import static dev.vigil.circuitbreaker.SlidingWindow.SLOW;
import static dev.vigil.circuitbreaker.SlidingWindow.SLOW_CALL_RATE_EXCEEDED;
import static dev.vigil.circuitbreaker.SlidingWindow.SUCCESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.circuitbreaker.CircuitBreaker.State;
import dev.vigil.circuitbreaker.CircuitBreaker.Stats;
import dev.vigil.circuitbreaker.SlidingWindow.Thresholds;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.ManualTicker;
import dev.vigil.core.time.Scheduler;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The two windows, sequentially against reference models and concurrently at rest. Time windows run
 * in virtual time: a {@link ManualScheduler} runs their rollover timer at each period's start as
 * {@link ManualScheduler#advance} passes it (the ticker is never moved alone, which would leave the
 * window's current bucket behind the clock).
 */
class WindowTest {
    private static final long MS = 1_000_000L;
    private static final int[] CODES = {SUCCESS, FAILURE, SUCCESS | SLOW, FAILURE | SLOW};
    /** At least 3 calls; open at 50% failures or 80% slow calls. */
    private static final Thresholds THRESHOLDS = new Thresholds(3, 50.0, 80.0);

    private static Stats stats(SlidingWindow window) {
        return window.stats(State.CLOSED);
    }

    private static Stats expected(long calls, long failed, long slow) {
        return new Stats(State.CLOSED, calls, failed, slow);
    }

    /** The stats of a list of codes, computed the obvious way. */
    private static Stats model(Iterable<Integer> codes) {
        long calls = 0, failed = 0, slow = 0;
        for (int code : codes) {
            calls++;
            failed += SlidingWindow.isFailure(code) ? 1 : 0;
            slow += SlidingWindow.isSlow(code) ? 1 : 0;
        }
        return expected(calls, failed, slow);
    }

    private static ManualScheduler schedulerAt(long startNanos) {
        return new ManualScheduler(new ManualTicker(startNanos));
    }

    /** Advances virtual time, running the window timers that fall due; returns how many ran. */
    private static int advance(ManualScheduler scheduler, long nanos) {
        return scheduler.advance(Duration.ofNanos(nanos));
    }

    // ------------------------------------------------------------------ thresholds

    @Test
    void thresholdsJudgeOnlyFromTheMinimumAndAtOrAboveTheRates() {
        assertEquals(HEALTHY, THRESHOLDS.verdict(0, 0, 0));
        assertEquals(HEALTHY, THRESHOLDS.verdict(2, 2, 2), "below the minimum");
        assertEquals(FAILURE_RATE_EXCEEDED, THRESHOLDS.verdict(3, 3, 0));
        assertEquals(HEALTHY, THRESHOLDS.verdict(3, 1, 0), "33% < 50%");
        assertEquals(FAILURE_RATE_EXCEEDED, THRESHOLDS.verdict(4, 2, 0), "exactly 50%");
        assertEquals(HEALTHY, THRESHOLDS.verdict(5, 2, 3), "40% failed, 60% slow");
        assertEquals(SLOW_CALL_RATE_EXCEEDED, THRESHOLDS.verdict(5, 2, 4), "exactly 80% slow");
        assertEquals(FAILURE_RATE_EXCEEDED, THRESHOLDS.verdict(4, 4, 4), "the failure rate is reported first");
        Thresholds untracked = new Thresholds(1, 100.0, Thresholds.NONE);
        assertEquals(HEALTHY, untracked.verdict(10, 9, 10), "slow calls are not tracked");
        assertEquals(FAILURE_RATE_EXCEEDED, untracked.verdict(10, 10, 0));
        assertEquals(HEALTHY, new Thresholds(0, 50.0, 50.0).verdict(0, 0, 0), "nothing recorded is healthy, whatever the minimum");
    }

    // ------------------------------------------------------------------ count window

    @Test
    void countWindowRecordsSequentially() {
        CountWindow window = new CountWindow(5);
        assertEquals(expected(0, 0, 0), stats(window));
        assertEquals(HEALTHY, window.verdict(THRESHOLDS));
        window.record(SUCCESS);
        window.record(FAILURE);
        assertEquals(expected(2, 1, 0), stats(window));
        assertEquals(HEALTHY, window.verdict(THRESHOLDS), "below the minimum of 3");
        window.record(SUCCESS | SLOW);
        assertEquals(expected(3, 1, 1), stats(window));
        assertEquals(HEALTHY, window.verdict(THRESHOLDS));
        window.record(FAILURE | SLOW);
        assertEquals(expected(4, 2, 2), stats(window));
        assertEquals(FAILURE_RATE_EXCEEDED, window.verdict(THRESHOLDS));
        assertEquals(new Stats(State.OPEN, 4, 2, 2), window.stats(State.OPEN), "the state is the caller's");
        window.stop(); // a no-op for a count window
        window.record(SUCCESS);
        assertEquals(expected(5, 2, 2), stats(window));
    }

    @Test
    void countWindowEvictsExactlyTheOldestCall() {
        CountWindow window = new CountWindow(3);
        window.record(FAILURE | SLOW);
        window.record(SUCCESS);
        window.record(SUCCESS);
        assertEquals(expected(3, 1, 1), stats(window));
        window.record(SUCCESS); // evicts the slow failure
        assertEquals(expected(3, 0, 0), stats(window));
        window.record(SUCCESS); // replaces a success with a success
        assertEquals(expected(3, 0, 0), stats(window));
        window.record(SUCCESS | SLOW);
        window.record(FAILURE);
        assertEquals(expected(3, 1, 1), stats(window));
        window.record(FAILURE); // evicts the success recorded just before the slow one
        assertEquals(expected(3, 2, 1), stats(window));
        window.record(FAILURE); // evicts the slow success
        assertEquals(expected(3, 3, 0), stats(window));
    }

    @Test
    void countWindowMatchesAReferenceModelOverLongRuns() {
        SplittableRandom random = new SplittableRandom(20_240_601);
        for (int size : new int[] {1, 2, 3, 7, 64, 1000}) {
            CountWindow window = new CountWindow(size);
            ArrayDeque<Integer> last = new ArrayDeque<>();
            int code = SUCCESS;
            for (int i = 0; i < 5 * size + 500; i++) {
                if (random.nextInt(4) == 0) { // runs of equal codes exercise the steady-state shortcut
                    code = CODES[random.nextInt(CODES.length)];
                }
                window.record(code);
                last.addLast(code);
                if (last.size() > size) {
                    last.removeFirst();
                }
                Stats model = model(last);
                assertEquals(model, stats(window), "size " + size + ", record " + i);
                assertEquals(THRESHOLDS.verdict(model.calls(), model.failedCalls(), model.slowCalls()),
                        window.verdict(THRESHOLDS));
            }
        }
    }

    @Test
    void countWindowOfTheLargestSizeHoldsEveryFieldExactly() {
        CountWindow window = new CountWindow(CountWindow.MAX_SIZE);
        for (int i = 0; i < CountWindow.MAX_SIZE; i++) {
            window.record(FAILURE | SLOW);
        }
        assertEquals(expected(1_000_000, 1_000_000, 1_000_000), stats(window));
        assertEquals(FAILURE_RATE_EXCEEDED, window.verdict(new Thresholds(1_000_000, 100.0, 100.0)));
        window.record(SUCCESS);
        assertEquals(expected(1_000_000, 999_999, 999_999), stats(window));
        for (int i = 1; i < CountWindow.MAX_SIZE; i++) {
            window.record(SUCCESS | SLOW);
        }
        assertEquals(expected(1_000_000, 0, 999_999), stats(window));
        assertEquals(SLOW_CALL_RATE_EXCEEDED, window.verdict(new Thresholds(1, 50.0, 99.0)));
        assertEquals(HEALTHY, window.verdict(new Thresholds(1, 50.0, 100.0)));
    }

    @Test
    void countWindowTotalsEqualItsSlotsAtRestAfterConcurrentRecords() throws Exception {
        CountWindow window = new CountWindow(64);
        runConcurrently(8, thread -> {
            SplittableRandom random = new SplittableRandom(thread);
            for (int i = 0; i < 50_000; i++) {
                window.record(CODES[random.nextInt(CODES.length)]);
            }
        });
        Field field = CountWindow.class.getDeclaredField("slots");
        field.setAccessible(true);
        List<Integer> slots = new ArrayList<>();
        for (int code : (int[]) field.get(window)) {
            slots.add(code);
        }
        assertEquals(model(slots), stats(window));
        assertEquals(64, stats(window).calls());
    }

    // ------------------------------------------------------------------ time window, sequential

    @Test
    void timeWindowRecordsSequentiallyWithinOneBucket() {
        ManualScheduler scheduler = new ManualScheduler();
        TimeWindow window = new TimeWindow(1000 * MS, 4, scheduler);
        assertEquals(1, scheduler.pendingTasks(), "the rollover timer is armed at creation");
        assertEquals(expected(0, 0, 0), stats(window));
        assertEquals(HEALTHY, window.verdict(THRESHOLDS));
        advance(scheduler, 10 * MS);
        window.record(SUCCESS);
        advance(scheduler, 10 * MS);
        window.record(FAILURE);
        assertEquals(expected(2, 1, 0), stats(window));
        assertEquals(HEALTHY, window.verdict(THRESHOLDS), "below the minimum of 3");
        assertEquals(0, advance(scheduler, 979 * MS), "still period 0: no rollover");
        window.record(FAILURE | SLOW);
        assertEquals(expected(3, 2, 1), stats(window));
        assertEquals(3, window.calls());
        assertEquals(2, window.failures());
        assertEquals(FAILURE_RATE_EXCEEDED, window.verdict(THRESHOLDS));
        assertEquals(new Stats(State.OPEN, 3, 2, 1), window.stats(State.OPEN), "the state is the caller's");
        assertEquals(3, advance(scheduler, 3000 * MS), "one rollover per period start: 1000, 2000 and 3000 ms");
        assertEquals(expected(3, 2, 1), stats(window), "period 3: periods 0 to 3 are in the window");
        assertEquals(1, advance(scheduler, 1000 * MS));
        assertEquals(expected(0, 0, 0), stats(window), "period 4: period 0 has left");
        assertEquals(0, window.calls());
        assertEquals(0, window.failures());
        assertEquals(HEALTHY, window.verdict(THRESHOLDS));
        assertEquals(1, scheduler.pendingTasks(), "one timer task at a time");
    }

    @Test
    void timeWindowCountsTheCurrentAndTheOlderBucketsOfItsSpanOnly() {
        ManualScheduler scheduler = new ManualScheduler();
        TimeWindow window = new TimeWindow(1000 * MS, 4, scheduler);
        window.record(FAILURE); // period 0
        advance(scheduler, 1500 * MS);
        window.record(SUCCESS); // period 1
        assertEquals(expected(2, 1, 0), stats(window));
        advance(scheduler, 2500 * MS - 1);
        window.record(SUCCESS | SLOW); // period 3, at its last nanosecond
        assertEquals(expected(3, 1, 1), stats(window));
        advance(scheduler, 1);
        assertEquals(expected(2, 0, 1), stats(window), "4000 ms: period 0 left whole");
        window.record(FAILURE); // period 4, at its very first nanosecond
        assertEquals(expected(3, 1, 1), stats(window));
        advance(scheduler, 1000 * MS);
        assertEquals(expected(2, 1, 1), stats(window), "5000 ms: period 1 left");
        advance(scheduler, 2000 * MS - 1);
        assertEquals(expected(2, 1, 1), stats(window), "7000 ms - 1 ns: periods 3 to 6");
        advance(scheduler, 1);
        assertEquals(expected(1, 1, 0), stats(window), "7000 ms: period 3 left");
        advance(scheduler, 1000 * MS);
        assertEquals(expected(0, 0, 0), stats(window), "8000 ms: period 4 left");
    }

    @Test
    void timeWindowOfOneBucketHoldsTheCurrentPeriodOnly() {
        ManualScheduler scheduler = new ManualScheduler();
        TimeWindow window = new TimeWindow(10 * MS, 1, scheduler);
        window.record(FAILURE);
        advance(scheduler, 10 * MS - 1);
        window.record(FAILURE | SLOW);
        assertEquals(expected(2, 2, 1), stats(window));
        advance(scheduler, 1);
        assertEquals(expected(0, 0, 0), stats(window));
        window.record(SUCCESS);
        assertEquals(expected(1, 0, 0), stats(window));
    }

    @Test
    void timeWindowTimerRunsAtEachPeriodStartAlignedOnMultiplesOfTheBucket() {
        // Created mid-bucket: period 0 is the bucket containing the creation, [0, 10 ms).
        ManualScheduler scheduler = schedulerAt(3 * MS);
        TimeWindow window = new TimeWindow(10 * MS, 3, scheduler);
        assertEquals(7 * MS, scheduler.nanosUntilNextTask());
        window.record(FAILURE);
        assertEquals(0, advance(scheduler, 7 * MS - 1));
        window.record(FAILURE); // 9.999999 ms: still period 0
        assertEquals(1, advance(scheduler, 1));
        assertEquals(10 * MS, scheduler.nanosUntilNextTask());
        window.record(SUCCESS); // period 1
        assertEquals(expected(3, 2, 0), stats(window));
        assertEquals(1, advance(scheduler, 20 * MS - 1), "at 20 ms, not 20 ms after the creation");
        assertEquals(expected(3, 2, 0), stats(window), "period 2 (29.999999 ms): periods 0 to 2");
        assertEquals(1, advance(scheduler, 1));
        assertEquals(expected(1, 0, 0), stats(window), "period 3 (30 ms): period 0 left, whole");
        assertEquals(100, advance(scheduler, 1000 * MS));
        assertEquals(expected(0, 0, 0), stats(window));
        assertEquals(1, scheduler.pendingTasks());
    }

    @Test
    void timeWindowMatchesAReferenceModelOfTimedRecordsWithRandomGaps() {
        SplittableRandom random = new SplittableRandom(7);
        long bucketNanos = 7 * MS + 3; // a bucket that divides nothing in particular
        long wrapping = Long.MAX_VALUE - 200 * bucketNanos - 11; // passes Long.MAX_VALUE along the way
        long[] starts = {0L, 3 * MS + 1, -50 * MS - 3, Long.MIN_VALUE, Long.MIN_VALUE / 2, Long.MAX_VALUE / 2, wrapping};
        long totalRollovers = 0;
        for (long start : starts) {
            for (int buckets : new int[] {1, 2, 5, 60}) {
                ManualScheduler scheduler = schedulerAt(start);
                TimeWindow window = new TimeWindow(bucketNanos, buckets, scheduler);
                // The model counts in exact elapsed time from the start of the bucket containing the creation.
                long offset = Math.floorMod(start, bucketNanos);
                long elapsed = 0;
                long rollovers = 0;
                ArrayDeque<long[]> records = new ArrayDeque<>(); // {period, code}, oldest first
                for (int i = 0; i < 1500; i++) {
                    long gap;
                    int kind = random.nextInt(100);
                    if (kind < 55) {
                        gap = random.nextLong(bucketNanos / 3);
                    } else if (kind < 65) { // to the next period start, or 1 ns short of it
                        gap = bucketNanos - (offset + elapsed) % bucketNanos - random.nextInt(2);
                    } else if (kind < 90) {
                        gap = random.nextLong(2 * bucketNanos);
                    } else if (kind < 99) {
                        gap = random.nextLong(buckets * bucketNanos);
                    } else { // beyond the whole window
                        gap = buckets * bucketNanos + random.nextLong(2 * buckets * bucketNanos);
                    }
                    rollovers += advance(scheduler, gap);
                    elapsed += gap;
                    assertEquals(start + elapsed, scheduler.ticker().read()); // wrapping arithmetic
                    long period = (offset + elapsed) / bucketNanos;
                    String where = "start " + start + ", buckets " + buckets + ", record " + i + ", period " + period;
                    assertEquals(period, rollovers, "one rollover per period start passed: " + where);
                    while (!records.isEmpty() && records.peekFirst()[0] <= period - buckets) {
                        records.removeFirst(); // time only moves forward: an expired record never returns
                    }
                    check(window, records, "before " + where);
                    int code = CODES[random.nextInt(CODES.length)];
                    window.record(code);
                    records.addLast(new long[] {period, code});
                    check(window, records, "after " + where);
                }
                assertEquals(1, scheduler.pendingTasks());
                if (start == wrapping) {
                    assertTrue(scheduler.ticker().read() < 0, "wrapped, buckets " + buckets);
                }
                totalRollovers += rollovers;
            }
        }
        assertTrue(totalRollovers < 100_000, "runtime budget: " + totalRollovers + " rollovers");
    }

    private static void check(TimeWindow window, ArrayDeque<long[]> records, String where) {
        List<Integer> inWindow = new ArrayList<>();
        for (long[] record : records) {
            inWindow.add((int) record[1]);
        }
        Stats model = model(inWindow);
        assertEquals(model, stats(window), where);
        assertEquals(model.calls(), window.calls(), where);
        assertEquals(model.failedCalls(), window.failures(), where);
        assertEquals(THRESHOLDS.verdict(model.calls(), model.failedCalls(), model.slowCalls()), window.verdict(THRESHOLDS), where);
    }

    @Test
    void timeWindowWorksWithNegativeTickerReadings() {
        ManualScheduler scheduler = schedulerAt(-1);
        TimeWindow window = new TimeWindow(MS, 4, scheduler);
        assertEquals(1, scheduler.nanosUntilNextTask(), "period 0 is [-1 ms, 0): floor, not truncation");
        window.record(FAILURE); // period 0
        assertEquals(1, advance(scheduler, 1));
        window.record(SUCCESS); // period 1, at reading 0
        assertEquals(expected(2, 1, 0), stats(window));
        advance(scheduler, 3 * MS - 1);
        assertEquals(expected(2, 1, 0), stats(window), "reading 3 ms - 1: periods 0 to 3");
        advance(scheduler, 1);
        assertEquals(expected(1, 0, 0), stats(window), "reading 3 ms: period 0 has left");

        for (long base : new long[] {-(1L << 40) * MS - 1, Long.MIN_VALUE, Long.MIN_VALUE + 1}) {
            ManualScheduler deepScheduler = schedulerAt(base);
            TimeWindow deep = new TimeWindow(MS, 3, deepScheduler);
            long untilNext = MS - Math.floorMod(base, MS);
            assertEquals(untilNext, deepScheduler.nanosUntilNextTask(), "base " + base);
            deep.record(FAILURE); // period 0
            advance(deepScheduler, untilNext);
            deep.record(FAILURE); // period 1
            advance(deepScheduler, MS);
            deep.record(SUCCESS); // period 2
            assertEquals(expected(3, 2, 0), stats(deep), "base " + base);
            advance(deepScheduler, MS);
            assertEquals(expected(2, 1, 0), stats(deep), "base " + base);
            advance(deepScheduler, MS);
            assertEquals(expected(1, 0, 0), stats(deep), "base " + base);
            advance(deepScheduler, MS);
            assertEquals(expected(0, 0, 0), stats(deep), "base " + base);
        }
    }

    @Test
    void timeWindowKeepsCountingWhenTheTickerWrapsAroundLongMaxValue() {
        // Ticker readings have an arbitrary origin; only their differences are meaningful (Ticker's
        // contract). A reading that passes Long.MAX_VALUE wraps to a negative value, later in elapsed
        // time: the window must still see the calls of its last 4 buckets, and drop the older ones.
        long start = Long.MAX_VALUE - MS - MS / 2;
        ManualScheduler scheduler = schedulerAt(start);
        TimeWindow window = new TimeWindow(MS, 4, scheduler);
        long untilNext = MS - Math.floorMod(start, MS);
        assertEquals(untilNext, scheduler.nanosUntilNextTask());
        List<long[]> recorded = new ArrayList<>(); // {period, code}
        window.record(FAILURE);
        recorded.add(new long[] {0, FAILURE});
        advance(scheduler, MS);
        window.record(FAILURE);
        recorded.add(new long[] {1, FAILURE});
        advance(scheduler, MS);
        assertTrue(scheduler.ticker().read() < 0, "the reading wrapped");
        window.record(FAILURE | SLOW);
        recorded.add(new long[] {2, FAILURE | SLOW});
        assertEquals(expected(3, 3, 1), stats(window));
        int rollovers = 0;
        for (long period = 3; period < 11; period++) { // periods keep starting every 1 ms across the wrap
            assertEquals(period == 3 ? untilNext : MS, scheduler.nanosUntilNextTask(), "period " + period);
            rollovers += advance(scheduler, scheduler.nanosUntilNextTask());
            window.record(SUCCESS);
            recorded.add(new long[] {period, SUCCESS});
            List<Integer> inWindow = new ArrayList<>();
            for (long[] record : recorded) {
                if (record[0] > period - 4) {
                    inWindow.add((int) record[1]);
                }
            }
            assertEquals(model(inWindow), stats(window), "period " + period);
        }
        assertEquals(8, rollovers);
        assertEquals(expected(4, 0, 0), stats(window), "only the last 4 successes");
    }

    @Test
    void timeWindowStopFreezesTheWindow() {
        ManualScheduler scheduler = new ManualScheduler();
        TimeWindow window = new TimeWindow(MS, 4, scheduler);
        TimeWindow other = new TimeWindow(MS, 4, scheduler);
        window.record(FAILURE);
        other.record(FAILURE);
        advance(scheduler, MS);
        window.record(SUCCESS | SLOW);
        other.record(SUCCESS | SLOW);
        assertEquals(2, scheduler.pendingTasks());
        window.stop();
        assertEquals(1, scheduler.pendingTasks(), "the stopped window's timer is cancelled");
        window.stop(); // idempotent
        assertEquals(1, scheduler.pendingTasks());
        assertEquals(100, advance(scheduler, 100 * MS), "only the other window's timer runs");
        assertEquals(expected(2, 1, 1), stats(window), "frozen: its buckets no longer expire");
        assertEquals(FAILURE_RATE_EXCEEDED, window.verdict(new Thresholds(1, 50.0, Thresholds.NONE)));
        assertEquals(expected(0, 0, 0), stats(other), "the other window moved on");
        other.stop();
        assertEquals(0, scheduler.pendingTasks());
        assertEquals(0, advance(scheduler, 100 * MS));
    }

    /**
     * A scheduler that runs the window's timer late by a settable amount (a busy timer thread, a long
     * pause), still through {@link ManualScheduler#advance}.
     */
    private static final class LateScheduler implements Scheduler {
        final ManualScheduler manual;
        long lateNanos;

        LateScheduler(ManualScheduler manual) {
            this.manual = manual;
        }

        @Override
        public Task schedule(Runnable task, long delayNanos) {
            return manual.schedule(task, delayNanos + lateNanos);
        }

        @Override
        public ManualTicker ticker() {
            return manual.ticker();
        }
    }

    @Test
    void timeWindowAfterALateTimerCountsInWindowBucketsAndNeverAStaleOne() {
        ManualScheduler manual = new ManualScheduler();
        LateScheduler scheduler = new LateScheduler(manual);
        TimeWindow window = new TimeWindow(MS, 4, scheduler);
        window.record(FAILURE); // period 0, cell 0
        advance(manual, 2 * MS);
        window.record(FAILURE); // period 2, cell 2
        scheduler.lateNanos = 2 * MS + MS / 2;
        advance(manual, MS); // installs period 3, and schedules the next rollover 2.5 ms late
        window.record(FAILURE | SLOW); // period 3, cell 3
        assertEquals(expected(3, 3, 1), stats(window));
        scheduler.lateNanos = 0;
        // Until the late timer runs, calls count in the bucket of period 3.
        assertEquals(0, advance(manual, 3 * MS + MS / 2 - 1));
        window.record(SUCCESS);
        assertEquals(expected(4, 3, 1), stats(window));
        assertEquals(1, advance(manual, 1)); // 6.5 ms: installs period 6; periods 4 and 5 have no bucket
        assertEquals(expected(2, 1, 1), stats(window), "periods 3 to 6: the bucket of period 3 only");
        assertEquals(1, advance(manual, MS / 2)); // period 7
        assertEquals(expected(0, 0, 0), stats(window), "period 3 left");

        // A timer late by 2^32 periods installs period 2^32 + 8 straight after period 8: it would be
        // period 8 as an int, and the stale buckets of periods 6 and 7 (cells 2 and 3) would look in-window.
        window.record(FAILURE); // period 7, cell 3
        scheduler.lateNanos = ((1L << 32) - 1) * MS;
        assertEquals(1, advance(manual, MS)); // installs period 8, schedules the next one 2^32 - 1 periods late
        window.record(FAILURE); // period 8, cell 0
        assertEquals(expected(2, 2, 0), stats(window));
        scheduler.lateNanos = 0;
        assertEquals(0, advance(manual, ((1L << 32) - 1) * MS));
        assertEquals(1, advance(manual, MS)); // installs period 2^32 + 8, in cell 0
        assertEquals(expected(0, 0, 0), stats(window), "periods 7 and 8 are 2^32 periods old");
        window.record(SUCCESS);
        assertEquals(1, advance(manual, MS));
        window.record(SUCCESS);
        assertEquals(expected(2, 0, 0), stats(window));

        // Late by 2^31 + 1 periods: a period that would turn negative as an int.
        scheduler.lateNanos = (1L << 31) * MS;
        assertEquals(1, advance(manual, MS));
        scheduler.lateNanos = 0;
        assertEquals(1, advance(manual, ((1L << 31) + 1) * MS));
        assertEquals(expected(0, 0, 0), stats(window));
        window.record(FAILURE);
        assertEquals(expected(1, 1, 0), stats(window));
        assertEquals(FAILURE_RATE_EXCEEDED, window.verdict(new Thresholds(1, 50.0, Thresholds.NONE)));
        assertEquals(3, advance(manual, 3 * MS));
        assertEquals(expected(1, 1, 0), stats(window));
        assertEquals(1, advance(manual, MS));
        assertEquals(expected(0, 0, 0), stats(window));
    }

    // ------------------------------------------------------------------ time window, concurrent

    @Test
    void timeWindowCountsEveryConcurrentRecordOfOnePeriod() throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        TimeWindow window = new TimeWindow(MS, 4, scheduler);
        AtomicLong failures = new AtomicLong();
        AtomicLong slow = new AtomicLong();
        runConcurrently(8, thread -> {
            SplittableRandom random = new SplittableRandom(thread);
            for (int i = 0; i < 20_000; i++) {
                int code = CODES[random.nextInt(CODES.length)];
                window.record(code); // all in period 0: one bucket, one counter per field
                failures.addAndGet(SlidingWindow.isFailure(code) ? 1 : 0);
                slow.addAndGet(SlidingWindow.isSlow(code) ? 1 : 0);
            }
        });
        assertEquals(expected(160_000, failures.get(), slow.get()), stats(window));
        assertEquals(160_000, window.calls());
        assertEquals(failures.get(), window.failures());
    }

    @Test
    void timeWindowCountsEveryRecordOnceARolloverFollowsRecordsThatRacedRollovers() throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        TimeWindow window = new TimeWindow(MS, 1000, scheduler); // wide enough that nothing expires
        AtomicLong failures = new AtomicLong();
        AtomicLong slow = new AtomicLong();
        int recorders = 4;
        runConcurrently(recorders + 1, thread -> {
            if (thread == recorders) { // the timer thread: 500 rollovers while the others record
                for (int i = 0; i < 500; i++) {
                    assertEquals(1, advance(scheduler, MS));
                    Thread.onSpinWait();
                }
                return;
            }
            SplittableRandom random = new SplittableRandom(thread);
            for (int i = 0; i < 50_000; i++) {
                int code = CODES[random.nextInt(CODES.length)];
                window.record(code);
                failures.addAndGet(SlidingWindow.isFailure(code) ? 1 : 0);
                slow.addAndGet(SlidingWindow.isSlow(code) ? 1 : 0);
            }
        });
        // A record that read the current bucket just before a rollover may be missing from the totals
        // until the next rollover sums its bucket again; at rest, one rollover later, all are there.
        assertEquals(1, advance(scheduler, MS));
        assertEquals(expected(recorders * 50_000L, failures.get(), slow.get()), stats(window));
    }

    private interface Worker {
        void run(int thread) throws Exception;
    }

    private static void runConcurrently(int threads, Worker worker) throws Exception {
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        List<Thread> running = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Thread runner = new Thread(() -> {
                try {
                    start.await();
                    worker.run(thread);
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            running.add(runner);
            runner.start();
        }
        for (Thread runner : running) {
            runner.join();
        }
        assertTrue(errors.isEmpty(), errors.toString());
    }
}
