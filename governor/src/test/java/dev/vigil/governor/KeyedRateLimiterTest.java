package dev.vigil.governor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.RateLimitedException;
import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.time.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class KeyedRateLimiterTest {
    private static final long MS = 1_000_000L;

    private final ManualTicker ticker = new ManualTicker();

    private KeyedRateLimiter.Builder<String> builder() {
        return KeyedRateLimiter.<String>builder().name("clients").ticker(ticker);
    }

    @Test
    void eachKeyHasItsOwnLimit() {
        KeyedRateLimiter<String> limiter = builder().limit(2, Duration.ofSeconds(1)).build();
        assertTrue(limiter.tryAcquire("a"));
        assertTrue(limiter.tryAcquire("a"));
        assertFalse(limiter.tryAcquire("a"));
        assertTrue(limiter.tryAcquire("b", 2), "another key is untouched");
        assertEquals(500 * MS, limiter.nanosUntilAvailable("a", 1));
        assertEquals(0, limiter.nanosUntilAvailable("never-seen", 2));
        ticker.advance(Duration.ofMillis(500));
        assertTrue(limiter.tryAcquire("a"));
        assertEquals(2, limiter.keyCount());
    }

    @Test
    void severalLimitsPerKey() {
        KeyedRateLimiter<String> limiter = builder().limit(10, Duration.ofSeconds(1)).limit(3, Duration.ofMinutes(1)).build();
        assertTrue(limiter.tryAcquire("a", 3));
        assertFalse(limiter.tryAcquire("a"));
        assertEquals(20_000 * MS, limiter.nanosUntilAvailable("a", 1), "the per-minute limit refills one every 20 s");
        ticker.advance(Duration.ofSeconds(20));
        assertTrue(limiter.tryAcquire("a"));
    }

    @Test
    void reserveReturnsTheWait() {
        KeyedRateLimiter<String> limiter = builder().limit(10, Duration.ofSeconds(1), 1).build();
        assertEquals(0, limiter.reserve("a", 1, Duration.ZERO));
        assertEquals(100 * MS, limiter.reserve("a", 1, Duration.ofSeconds(1)));
        assertEquals(-1, limiter.reserve("a", 1, Duration.ofMillis(150)));
        assertEquals(0, limiter.reserve("b", 1, Duration.ZERO));
    }

    @Test
    void idleKeysAreForgottenWithoutChangingAnyDecision() {
        KeyedRateLimiter<String> limiter = builder().limit(1, Duration.ofSeconds(1), 2).build();
        assertTrue(limiter.tryAcquire("a"));
        assertEquals(0, limiter.evictIdle(), "a is busy: its bucket is not full");
        ticker.advance(Duration.ofMillis(999));
        assertEquals(0, limiter.evictIdle());
        ticker.advance(Duration.ofMillis(1));
        assertEquals(1, limiter.evictIdle(), "refilled: forgetting it is invisible");
        assertEquals(0, limiter.keyCount());
        assertTrue(limiter.tryAcquire("a", 2), "a fresh key: the same full bucket it had");
    }

    @Test
    void theKeyCountNeverExceedsTheCapAndBusyKeysAreNeverForgotten() {
        List<PolicyEvent> events = new ArrayList<>();
        KeyedRateLimiter<String> limiter = builder().limit(1, Duration.ofSeconds(1)).maxKeys(3).listener(events::add).build();
        assertTrue(limiter.tryAcquire("a"));
        ticker.advance(Duration.ofMillis(100));
        assertTrue(limiter.tryAcquire("b"));
        assertTrue(limiter.tryAcquire("c"));
        assertEquals(3, limiter.keyCount());
        assertFalse(limiter.tryAcquire("d"), "every tracked key is busy: a new key is refused, not a busy key forgotten");
        assertEquals(1, limiter.rejectedNewKeyCount());
        assertEquals(900 * MS, limiter.nanosUntilAvailable("d", 1), "until a is idle");
        RateLimitedException rejection = limiter.rejection("d");
        assertEquals(900 * MS, rejection.retryAfterNanos());
        assertTrue(rejection.getMessage().contains("at most 3 keys"), rejection.getMessage());
        PolicyEvent.Rejected event = assertInstanceOf(PolicyEvent.Rejected.class, events.get(0));
        assertEquals(900 * MS, event.retryAfterNanos());
        assertFalse(limiter.tryAcquire("e"), "refused without another sweep until the first key can be idle");
        ticker.advance(Duration.ofMillis(900));
        assertTrue(limiter.tryAcquire("d"), "a is idle now: its slot goes to d");
        assertEquals(3, limiter.keyCount());
        assertFalse(limiter.tryAcquire("b"), "b was busy and kept its state");
    }

    @Test
    void atTheCapAKeyNotAmongTheRememberedSoonestIdleOnesIsStillFoundWhenItGoesIdleFirst() {
        // 20 keys at the cap; a sweep at the cap remembers the 16 that go idle soonest (keys 0-15).
        KeyedRateLimiter<Integer> limiter = KeyedRateLimiter.<Integer>builder().ticker(ticker).limit(2, Duration.ofSeconds(1), 2)
                .maxKeys(20).build();
        for (int key = 0; key < 20; key++) {
            assertTrue(limiter.tryAcquire(key)); // key k idle at k ms + 500 ms
            ticker.advance(Duration.ofMillis(1));
        } // now 20 ms
        assertFalse(limiter.tryAcquire(100), "every key busy: refused, and keys 0-15 remembered");
        for (int key = 0; key < 16; key++) {
            assertTrue(limiter.tryAcquire(key)); // the remembered keys now go idle only after 1 s
        }
        ticker.advance(Duration.ofMillis(496)); // 516 ms: key 16 is idle, before any remembered key
        assertTrue(limiter.tryAcquire(101), "key 16 is idle: its slot goes to the new key");
        assertEquals(20, limiter.keyCount());
        assertFalse(limiter.tryAcquire(102), "key 17 is idle only at 517 ms");
        assertEquals(Duration.ofMillis(1).toNanos(), limiter.nanosUntilAvailable(102, 1));
        ticker.advance(Duration.ofMillis(1));
        assertTrue(limiter.tryAcquire(102));
    }

    @Test
    void aFloodOfDistinctKeysStaysWithinTheCap() {
        KeyedRateLimiter<Integer> limiter = KeyedRateLimiter.<Integer>builder().ticker(ticker).limit(5, Duration.ofSeconds(1))
                .maxKeys(1_000).evictionInterval(Duration.ofSeconds(1)).build();
        int admitted = 0;
        for (int i = 0; i < 200_000; i++) {
            if (limiter.tryAcquire(i)) {
                admitted++;
            }
            if (i % 100 == 0) {
                ticker.advance(Duration.ofMillis(10));
            }
            assertTrue(limiter.keyCount() <= 1_000);
        }
        // Each key turns idle 200 ms after its one call: about 100 new keys per 10 ms step fit in 1,000 slots.
        assertTrue(admitted > 100_000, "keys keep being admitted as old ones idle out: " + admitted);
        ticker.advance(Duration.ofSeconds(1));
        int tracked = limiter.keyCount();
        assertEquals(tracked, limiter.evictIdle(), "every remaining key idle and forgotten at once");
        assertEquals(0, limiter.keyCount());
    }

    @Test
    void aTickerAtTheWrapNeitherOverAdmitsNorLeaksSlotsNorSpins() {
        ManualTicker wrapping = new ManualTicker(Long.MAX_VALUE - 999);
        KeyedRateLimiter<String> limiter = KeyedRateLimiter.<String>builder().ticker(wrapping).limit(1_000_000, Duration.ofSeconds(1), 1)
                .maxKeys(10).build();
        int admitted = 0;
        for (int i = 0; i < 5; i++) {
            admitted += limiter.tryAcquire("a") ? 1 : 0;
        }
        assertEquals(1, admitted, "burst 1 at one instant");
        assertEquals(1, limiter.keyCount());
        KeyedRateLimiter<String> atMin = KeyedRateLimiter.<String>builder().ticker(new ManualTicker(Long.MIN_VALUE))
                .limit(10, Duration.ofSeconds(1)).build();
        assertTrue(atMin.tryAcquire("a"), "a fresh key at the smallest reading");
    }

    @Test
    void badInputIsRejectedNamingTheParameter() {
        assertMessage("limits must hold at least one limit", () -> builder().build());
        assertMessage("permits must be >= 1", () -> builder().limit(0, Duration.ofSeconds(1)));
        assertMessage("maxKeys must be in [1, 100000000]", () -> builder().maxKeys(0));
        assertMessage("evictionInterval must be", () -> builder().evictionInterval(Duration.ZERO));
        assertMessage("ticker must not be null", () -> builder().ticker(null));
        KeyedRateLimiter<String> limiter = builder().limit(1, Duration.ofSeconds(1), 2).build();
        assertMessage("key must not be null", () -> limiter.tryAcquire(null));
        assertMessage("permits must be in [1, 2]", () -> limiter.tryAcquire("a", 3));
        assertMessage("maxWait must be", () -> limiter.reserve("a", 1, Duration.ofMillis(-1)));
        assertEquals("KeyedRateLimiter[clients, 1 per PT1S (burst 2), maxKeys=100000, keys=0]", limiter.toString());
        assertEquals("clients", limiter.name());
        assertEquals(100_000, limiter.maxKeys());
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable executable) {
        IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, executable);
        assertTrue(thrown.getMessage().contains(expected), () -> "expected \"" + expected + "\" in: " + thrown.getMessage());
    }
}
