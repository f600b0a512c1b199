package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.UndeclaredThrowableException;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class PolicyConveniencesTest {
    private final RecordingAdmission policy = new RecordingAdmission("p");

    @Test
    void everyFormRunsTheCallUnderThePolicy() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        assertEquals("call", policy.call(() -> "call"));
        assertEquals("get", policy.get(() -> "get"));
        policy.run(runs::incrementAndGet);
        Callable<String> callable = policy.decorateCallable(() -> "decorated callable");
        Supplier<String> supplier = policy.decorateSupplier(() -> "decorated supplier");
        Runnable runnable = policy.decorateRunnable(runs::incrementAndGet);
        Function<String, Integer> function = policy.decorateFunction(String::length);
        assertEquals("decorated callable", callable.call());
        assertEquals("decorated supplier", supplier.get());
        runnable.run();
        assertEquals(5, function.apply("abcde"));
        assertEquals("async", policy.decorateAsync(() -> CompletableFuture.completedFuture("async")).get()
                .toCompletableFuture().join());
        assertEquals(2, runs.get());
        assertEquals(8, policy.issuedCount());
        policy.assertEveryPermitEndedOnce();
    }

    @Test
    void uncheckedFormsPassRuntimeExceptionsThroughUnchanged() {
        IllegalStateException failure = new IllegalStateException("x");
        assertSame(failure, assertThrows(IllegalStateException.class, () -> policy.get(() -> {
            throw failure;
        })));
        RejectedException rejected = assertThrows(RejectedException.class, () -> {
            policy.rejecting(true);
            policy.run(() -> {});
        });
        assertEquals("p", rejected.policyName());
    }

    @Test
    void uncheckedFormsWrapACheckedExceptionThatSurfacesAnyway() {
        Policy throwing = Fallback.ofFunction(f -> {
            throw new IOException("fallback failed");
        });
        UndeclaredThrowableException thrown = assertThrows(UndeclaredThrowableException.class,
                () -> throwing.get(() -> {
                    throw new IllegalStateException("primary failed");
                }));
        assertInstanceOf(IOException.class, thrown.getUndeclaredThrowable());
        assertFalse(Thread.currentThread().isInterrupted());
    }

    @Test
    void anInterruptSurfacingInAnUncheckedFormKeepsTheInterruptFlag() {
        Policy waiting = new RecordingAdmission("waiting") {
            @Override
            public long acquirePermit() throws InterruptedException {
                throw new InterruptedException("interrupted while waiting for a permit");
            }
        };
        UndeclaredThrowableException thrown = assertThrows(UndeclaredThrowableException.class, () -> waiting.get(() -> 1));
        assertInstanceOf(InterruptedException.class, thrown.getCause());
        assertTrue(Thread.interrupted(), "interrupt flag re-asserted (and cleared here)");
    }

    @Test
    void nullCallsAreRejectedWithTheParameterNamed() {
        TimeoutTest.assertMessage("callable must not be null", () -> policy.call(null));
        TimeoutTest.assertMessage("supplier must not be null", () -> policy.get(null));
        TimeoutTest.assertMessage("runnable must not be null", () -> policy.run(null));
        TimeoutTest.assertMessage("function must not be null", () -> policy.decorateFunction(null));
        TimeoutTest.assertMessage("call must not be null", () -> policy.decorateAsync(null));
        TimeoutTest.assertMessage("call must not be null", () -> policy.callAsync(null));
    }

    @Test
    void rejectionsAreStacklessAndCarryTheRetryAfterHint() {
        RejectedException rejection = new CallNotPermittedException("payments", "circuit open", 2_000_000_000L);
        assertEquals(0, rejection.getStackTrace().length);
        assertEquals(java.time.Duration.ofSeconds(2), rejection.retryAfter().orElseThrow());
        assertEquals(2_000_000_000L, rejection.retryAfterNanos());
        RejectedException unknown = new BulkheadFullException("b", "full", -5);
        assertTrue(unknown.retryAfter().isEmpty());
        assertEquals(-1L, unknown.retryAfterNanos());
        assertTrue(new RateLimitedException("r", "limited", 1, true).getStackTrace().length > 0, "opt-in stack traces");
        assertInstanceOf(RejectedException.class, new LoadShedException("l", "shed", -1));
        assertInstanceOf(RejectedException.class, new RetryBudgetExhaustedException("r", "spent", -1));
        assertEquals(0, new TimeoutExceededException("t", java.time.Duration.ofMillis(5), false).getStackTrace().length);
        TimeoutTest.assertMessage("policyName must not be null", () -> new RejectedException(null, "m", -1));
        TimeoutTest.assertMessage("message must not be null", () -> new RejectedException("p", null, -1));
        TimeoutTest.assertMessage("limit must not be null", () -> new TimeoutExceededException("t", null, false));
    }

    @Test
    void permitsCarryEpochAndSlot() {
        long permit = Permits.of(Permits.MAX_EPOCH, -7);
        assertTrue(permit >= 0);
        assertEquals(Permits.MAX_EPOCH, Permits.epoch(permit));
        assertEquals(-7, Permits.slot(permit));
        assertEquals(0, Permits.nextEpoch(Permits.MAX_EPOCH));
        assertEquals(6, Permits.nextEpoch(5));
        TimeoutTest.assertMessage("epoch must be in [0, 2147483647], was -1", () -> Permits.of(-1, 0));
    }
}
