package dev.vigil.governor;

import static dev.vigil.core.testing.Allocations.ROUNDS;
import static dev.vigil.core.testing.Allocations.assertAllocatesNothingPerRound;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vigil.core.AdmissionPolicy;
import dev.vigil.core.Outcome;
import dev.vigil.core.Pipeline;
import dev.vigil.core.Policy;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.ManualTicker;
import java.time.Duration;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * A regression guard for the allocation-free claims of the rate limiters: a call that is admitted, a
 * call that is refused, several limits, warm-up, a reservation, the admission protocol and a
 * {@link Pipeline}; and a keyed limiter's calls for tracked keys (strings with their hash cached),
 * admitted and refused. Counted by the JVM's per-thread allocation counter with core's
 * {@code Allocations} (warm-up, then less than a byte per round). Time moves by a
 * {@link ManualScheduler} between rounds, so every round admits and refuses the same way.
 */
class GovernorAllocationTest {

    @Test
    void admissionsAndRefusalsOfARateLimiterAllocateNothing() throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        RateLimiter single = RateLimiter.builder().scheduler(scheduler).limit(1_000, Duration.ofSeconds(1), 2).build();
        RateLimiter several = RateLimiter.builder().scheduler(scheduler).limit(1_000, Duration.ofSeconds(1), 2)
                .limit(100_000, Duration.ofMinutes(1), 5).warmup(Duration.ofSeconds(1)).build();
        Duration maxWait = Duration.ofMillis(5); // a Duration is an object: made once, outside the rounds
        assertAllocatesNothingPerRound(() -> {
            scheduler.ticker().advanceNanos(10_000_000L); // 10 ms: both buckets refill
            long admitted = (single.tryAcquire() ? 1 : 0) + (single.tryAcquire() ? 1 : 0);
            long refused = single.tryAcquire() ? 0 : 1;
            long reserved = single.reserve(1, maxWait) >= 0 ? 1 : 0; // 1 ms wait, not taken
            admitted += several.tryAcquire() ? 1 : 0;
            long permit = single.tryAcquirePermit(); // refused: the reservation is ahead
            return admitted + refused + reserved + (permit == AdmissionPolicy.REJECTED ? 1 : 0);
        }, 6L);
    }

    @Test
    void theAdmissionProtocolAndAPipelineAllocateNothing() throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        RateLimiter limiter = RateLimiter.builder().scheduler(scheduler).limit(1_000_000, Duration.ofSeconds(1)).build();
        Policy pipeline = Pipeline.of(limiter);
        Supplier<String> call = () -> "ok";
        assertAllocatesNothingPerRound(() -> {
            scheduler.ticker().advanceNanos(10_000L);
            long permit = limiter.tryAcquirePermit();
            limiter.complete(permit, Outcome.SUCCESS, 0L);
            return (permit >= 0 ? 1 : 0) + pipeline.get(call).length();
        }, 3L);
    }

    @Test
    void aKeyedLimiterAllocatesNothingForTrackedKeys() throws Exception {
        ManualTicker ticker = new ManualTicker();
        KeyedRateLimiter<String> limiter = KeyedRateLimiter.<String>builder().ticker(ticker).limit(1_000, Duration.ofSeconds(1), 1).build();
        String[] keys = {"tenant-a", "tenant-b", "tenant-c"};
        assertAllocatesNothingPerRound(() -> {
            ticker.advanceNanos(1_000_000L);
            long admitted = 0;
            for (String key : keys) {
                admitted += limiter.tryAcquire(key) ? 1 : 0;
                admitted += limiter.tryAcquire(key) ? 0 : 1; // refused: burst 1
            }
            return admitted;
        }, 6L);
        assertEquals(3L * 2 * ROUNDS, limiter.rejectedCount(), "one refusal per key per round, warm-up and measured");
    }
}
