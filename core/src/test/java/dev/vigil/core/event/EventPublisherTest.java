package dev.vigil.core.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.Timeout;
import dev.vigil.core.TimeoutExceededException;
import dev.vigil.core.time.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EventPublisherTest {

    @Test
    void aThrowingListenerIsLoggedAndIgnoredAndTheNextStillRuns() {
        List<PolicyEvent> received = new ArrayList<>();
        EventPublisher publisher = EventPublisher.of(List.of(
                event -> {
                    throw new IllegalStateException("listener bug (expected in this test)");
                },
                received::add));
        PolicyEvent event = new PolicyEvent.Rejected("b", "circuitbreaker", 1L, "open", 5L);
        publisher.publish(event);
        assertEquals(List.of(event), received);
    }

    @Test
    void aThrowingListenerNeverBreaksACall() {
        ManualScheduler scheduler = new ManualScheduler();
        Timeout timeout = Timeout.builder(Duration.ofMillis(1)).scheduler(scheduler).interruptOnTimeout(false)
                .listener(event -> {
                    throw new IllegalStateException("listener bug (expected in this test)");
                })
                .build();
        assertThrows(TimeoutExceededException.class, () -> timeout.call(() -> scheduler.advance(Duration.ofMillis(1))));
    }

    @Test
    void noListenersMeansDisabled() {
        assertFalse(EventPublisher.of(List.of()).isEnabled());
        assertSame(EventPublisher.none(), EventPublisher.of(List.of()));
        assertTrue(EventPublisher.of(List.of(e -> {})).isEnabled());
    }

    @Test
    void eventsAreASealedFamilyOfValues() {
        List<PolicyEvent> events = List.of(
                new PolicyEvent.StateChanged("b", "circuitbreaker", 1L, "CLOSED", "OPEN", "failure rate 60% >= 50%"),
                new PolicyEvent.Rejected("b", "circuitbreaker", 2L, "open", -1L),
                new PolicyEvent.TimedOut("t", "timeout", 3L, Duration.ofMillis(5)),
                new PolicyEvent.FallbackUsed("f", "fallback", 4L, null, 503),
                new PolicyEvent.RetryScheduled("r", "retry", 5L, 2, Duration.ofMillis(100), new java.io.IOException(), null),
                new PolicyEvent.RetriesExhausted("r", "retry", 6L, 3, "3 of 3 attempts made"),
                new PolicyEvent.HedgeStarted("h", "hedge", 7L, 2),
                new PolicyEvent.LimitChanged("l", "limiter", 8L, 20, 18, "drops"),
                new PolicyEvent.ActionDecided("g", "governor", 9L, "terminate", "DELAY", 5_000L, "2nd in window"));
        List<String> described = new ArrayList<>();
        for (PolicyEvent event : events) {
            if (event instanceof PolicyEvent.StateChanged changed) {
                described.add(changed.from() + "->" + changed.to());
            } else if (event instanceof PolicyEvent.Rejected rejected) {
                described.add("rejected:" + rejected.reason());
            } else if (event instanceof PolicyEvent.TimedOut timedOut) {
                described.add("timeout:" + timedOut.limit().toMillis());
            } else if (event instanceof PolicyEvent.FallbackUsed used) {
                described.add("fallback:" + used.failedResult());
            } else if (event instanceof PolicyEvent.RetryScheduled scheduled) {
                described.add("retry#" + scheduled.attempt() + " in " + scheduled.delay().toMillis());
            } else if (event instanceof PolicyEvent.RetriesExhausted exhausted) {
                described.add("exhausted:" + exhausted.attempts());
            } else if (event instanceof PolicyEvent.HedgeStarted hedge) {
                described.add("hedge#" + hedge.attempt());
            } else if (event instanceof PolicyEvent.LimitChanged limit) {
                described.add("limit:" + limit.from() + "->" + limit.to());
            } else if (event instanceof PolicyEvent.ActionDecided decided) {
                described.add(decided.action() + ":" + decided.verdict() + "/" + decided.delayNanos());
            }
        }
        assertEquals(9, PolicyEvent.class.getPermittedSubclasses().length, "update this test when the family grows");
        assertEquals(List.of("CLOSED->OPEN", "rejected:open", "timeout:5", "fallback:503",
                "retry#2 in 100", "exhausted:3", "hedge#2", "limit:20->18", "terminate:DELAY/5000"), described);
    }

    @Test
    void badInputIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> EventPublisher.of(null));
        List<PolicyEventListener> withNull = new ArrayList<>();
        withNull.add(null);
        assertThrows(IllegalArgumentException.class, () -> EventPublisher.of(withNull));
        assertThrows(IllegalArgumentException.class, () -> new PolicyEvent.Rejected(null, "k", 0, "r", -1));
    }
}
