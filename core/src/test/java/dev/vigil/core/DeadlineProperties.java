package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.time.ManualScheduler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Nested deadlines take the minimum: inside any nesting of timeouts entered at different virtual
 * times, the visible deadline is the earliest of all enclosing ones, and a call that outlives it
 * fails with a timeout while one that finishes in time returns.
 */
class DeadlineProperties {

    @Property(seed = "424242", tries = 300)
    void theInnermostDeadlineIsTheEarliestEnclosingOne(
            @ForAll @Size(min = 1, max = 5) List<@IntRange(min = 1, max = 1_000) Integer> limitsMillis,
            @ForAll @Size(min = 5, max = 5) List<@IntRange(min = 0, max = 300) Integer> advancesMillis,
            @ForAll @IntRange(min = 0, max = 1_000) int workMillis,
            @ForAll boolean interrupt) throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        long[] deadlines = new long[limitsMillis.size()];
        Callable<Long> innermost = () -> {
            long expected = Long.MAX_VALUE;
            for (long deadline : deadlines) {
                expected = Math.min(expected, deadline);
            }
            long now = scheduler.ticker().read();
            assertEquals(Math.max(0, expected - now), Deadline.current().orElseThrow().remainingNanos());
            assertEquals(Math.max(0, expected - now), Deadline.currentRemainingNanos());
            scheduler.advance(Duration.ofMillis(workMillis));
            return expected - now;
        };
        Callable<Long> call = innermost;
        for (int level = limitsMillis.size() - 1; level >= 0; level--) {
            Timeout timeout = Timeout.builder(Duration.ofMillis(limitsMillis.get(level)))
                    .name("t" + level).scheduler(scheduler).interruptOnTimeout(interrupt).build();
            Callable<Long> inner = call;
            int index = level;
            int advance = advancesMillis.get(level);
            call = () -> {
                deadlines[index] = scheduler.ticker().read() + Duration.ofMillis(limitsMillis.get(index)).toNanos();
                return timeout.call(() -> {
                    scheduler.advance(Duration.ofMillis(advance)); // time passes before the next level starts
                    return inner.call();
                });
            };
        }
        long remainingAtInnermost;
        try {
            remainingAtInnermost = call.call();
            // Returned: the work must have fit before every deadline (including the advances).
            assertTrue(workMillis * 1_000_000L < remainingAtInnermost,
                    "returned although the work (" + workMillis + "ms) outlived the deadline (" + remainingAtInnermost + "ns left)");
        } catch (TimeoutExceededException expected) {
            // Timed out: fine, as long as some deadline had indeed passed (checked below).
            long now = scheduler.ticker().read();
            long earliest = Long.MAX_VALUE;
            for (long deadline : deadlines) {
                if (deadline != 0) {
                    earliest = Math.min(earliest, deadline);
                }
            }
            assertTrue(now >= earliest, "timed out at " + now + " before the earliest deadline " + earliest);
        } finally {
            assertFalse(Thread.interrupted(), "no interrupt leaks out of nested timeouts");
        }
        assertTrue(Deadline.current().isEmpty());
    }
}
