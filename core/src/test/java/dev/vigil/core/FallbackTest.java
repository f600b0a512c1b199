package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.event.PolicyEvent;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class FallbackTest {
    private final IOException failure = new IOException("down");

    @Test
    void replacesAnExceptionWithAValue() throws Exception {
        Fallback<String> fallback = Fallback.ofValue("cached");
        assertEquals("cached", fallback.call(() -> {
            throw failure;
        }));
        assertEquals("live", fallback.call(() -> "live"));
        assertEquals(1, fallback.fallbackCount());
        assertEquals(0, fallback.failureCount());
    }

    @Test
    void computesTheReplacementFromTheFailure() throws Exception {
        AtomicReference<Failure> seen = new AtomicReference<>();
        Fallback<String> fallback = Fallback.ofFunction(f -> {
            seen.set(f);
            return "from " + f.exception().getMessage();
        });
        assertEquals("from down", fallback.call(() -> {
            throw failure;
        }));
        assertTrue(seen.get().isException());
        assertNull(seen.get().result());
    }

    @Test
    void replacesResultsTheClassifierCallsFailures() throws Exception {
        AtomicReference<Failure> seen = new AtomicReference<>();
        Fallback<Integer> fallback = Fallback.<Integer>builder()
                .classifier(Classifier.builder().failOnResult(Integer.class, status -> status >= 500).build())
                .function(f -> {
                    seen.set(f);
                    return 200;
                })
                .build();
        assertEquals(200, fallback.call(() -> 503));
        assertEquals(503, seen.get().result());
        assertFalse(seen.get().isException());
        assertEquals(404, fallback.call(() -> 404));
    }

    @Test
    void callsAnAlternative() throws Exception {
        Fallback<String> fallback = Fallback.<String>builder().call(() -> "secondary").build();
        assertEquals("secondary", fallback.get(() -> {
            throw new IllegalStateException("primary down");
        }));
    }

    @Test
    void exceptionsTheClassifierDoesNotFailPropagate() {
        Fallback<String> fallback = Fallback.<String>builder()
                .classifier(Classifier.builder().failOn(IOException.class).build())
                .value("cached")
                .build();
        IllegalArgumentException bug = new IllegalArgumentException("bad request");
        assertSame(bug, assertThrows(IllegalArgumentException.class, () -> fallback.call(() -> {
            throw bug;
        })));
        assertEquals(1, fallback.failureCount());
    }

    @Test
    void neverSwallowsInterruptsOrErrors() {
        Fallback<String> fallback = Fallback.ofValue("cached");
        assertThrows(InterruptedException.class, () -> fallback.call(() -> {
            throw new InterruptedException();
        }));
        assertThrows(StackOverflowError.class, () -> fallback.call(() -> {
            throw new StackOverflowError();
        }));
        assertEquals(0, fallback.fallbackCount());
    }

    @Test
    void aFailingFallbackPropagatesWithTheOriginalSuppressed() {
        IllegalStateException cacheDown = new IllegalStateException("cache down too");
        Fallback<String> fallback = Fallback.ofFunction(f -> {
            throw cacheDown;
        });
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> fallback.call(() -> {
            throw failure;
        }));
        assertSame(cacheDown, thrown);
        assertSame(failure, thrown.getSuppressed()[0]);
    }

    @Test
    void fallsBackOnRejections() throws Exception {
        RecordingAdmission breaker = new RecordingAdmission("breaker").rejecting(true);
        assertEquals("degraded", Pipeline.of(Fallback.ofValue("degraded"), breaker).call(() -> "live"));
    }

    @Test
    void publishesAnEventPerFallback() throws Exception {
        List<PolicyEvent> events = new CopyOnWriteArrayList<>();
        Fallback<String> fallback = Fallback.<String>builder().name("prices").value("cached").listener(events::add)
                .ticker(() -> 7L).build();
        fallback.call(() -> {
            throw failure;
        });
        assertEquals(List.of(new PolicyEvent.FallbackUsed("prices", "fallback", 7L, failure, null)), events);
    }

    @Test
    void asyncReplacesAFailedStage() {
        Fallback<String> fallback = Fallback.ofValue("cached");
        CompletableFuture<String> source = new CompletableFuture<>();
        CompletionStage<String> result = fallback.callAsync(() -> source);
        source.completeExceptionally(new CompletionException(failure));
        assertEquals("cached", result.toCompletableFuture().join());
    }

    @Test
    void asyncPassesSuccessAndUnhandledFailuresThrough() {
        Fallback<String> fallback = Fallback.<String>builder()
                .classifier(Classifier.builder().failOn(IOException.class).build()).value("cached").build();
        assertEquals("live", fallback.callAsync(() -> CompletableFuture.completedFuture("live")).toCompletableFuture().join());
        IllegalStateException bug = new IllegalStateException("bug");
        CompletionStage<String> failed = fallback.callAsync(() -> CompletableFuture.failedFuture(bug));
        CompletionException thrown = assertThrows(CompletionException.class, () -> failed.toCompletableFuture().join());
        assertSame(bug, thrown.getCause());
    }

    @Test
    void asyncReplacesASupplierThatThrows() {
        Fallback<String> fallback = Fallback.ofValue("cached");
        assertEquals("cached", fallback.<String>callAsync(() -> {
            throw new IllegalStateException("could not start");
        }).toCompletableFuture().join());
    }

    @Test
    void asyncCancellationIsNotReplacedAndReachesTheSource() {
        Fallback<String> fallback = Fallback.ofValue("cached");
        CompletableFuture<String> source = new CompletableFuture<>();
        CompletionStage<String> result = fallback.callAsync(() -> source);
        result.toCompletableFuture().cancel(true);
        assertTrue(source.isCancelled());
        assertThrows(CancellationException.class, () -> result.toCompletableFuture().join());
    }

    @Test
    void aThrowingClassifierFailsTheCallSyncAndAsyncWithTheOriginalSuppressed() {
        Fallback<String> fallback = Fallback.<String>builder()
                .classifier(Classifier.builder().ignoreException(e -> e.getMessage().startsWith("4")).build())
                .value("cached")
                .build();
        IOException noMessage = new IOException();
        NullPointerException sync = assertThrows(NullPointerException.class, () -> fallback.call(() -> {
            throw noMessage;
        }));
        assertSame(noMessage, sync.getSuppressed()[0]);
        CompletionStage<String> async = fallback.callAsync(() -> CompletableFuture.failedFuture(noMessage));
        CompletionException thrown = assertThrows(CompletionException.class, () -> async.toCompletableFuture().join(),
                "the future completes even though the classifier threw");
        assertInstanceOf(NullPointerException.class, thrown.getCause());
    }

    @Test
    void badInputIsRejectedWithTheParameterNamed() {
        TimeoutTest.assertMessage("function must not be null: give value(..), function(..) or call(..)",
                () -> Fallback.builder().build());
        TimeoutTest.assertMessage("function must not be null", () -> Fallback.ofFunction((CheckedFunction<Failure, String>) null));
        TimeoutTest.assertMessage("classifier must not be null", () -> Fallback.builder().classifier(null));
        TimeoutTest.assertMessage("alternative must not be null", () -> Fallback.builder().call(null));
        TimeoutTest.assertMessage("name must not be null or blank", () -> Fallback.builder().name(null));
    }
}
