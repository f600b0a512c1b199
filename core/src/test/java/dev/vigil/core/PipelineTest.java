package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.RecordingAdmission.End;
import dev.vigil.core.health.Health;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.ManualTicker;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PipelineTest {
    private final ManualTicker ticker = new ManualTicker();
    private final RecordingAdmission outer = new RecordingAdmission("outer", ticker);
    private final RecordingAdmission middle = new RecordingAdmission("middle", ticker);
    private final RecordingAdmission inner = new RecordingAdmission("inner", ticker);

    @Test
    void runsTheCallOnceAndCompletesEveryPermitWithTheOutcomeAndElapsedTime() throws Exception {
        Pipeline pipeline = Pipeline.of(outer, middle, inner);
        String result = pipeline.call(() -> {
            ticker.advance(Duration.ofMillis(7));
            return "ok";
        });
        assertEquals("ok", result);
        for (RecordingAdmission policy : List.of(outer, middle, inner)) {
            policy.assertEveryPermitEndedOnce();
            RecordingAdmission.Ending ending = policy.lastEnding();
            assertEquals(End.COMPLETED, ending.end());
            assertEquals(Outcome.SUCCESS, ending.outcome());
            assertEquals(Duration.ofMillis(7).toNanos(), ending.elapsedNanos());
        }
    }

    @Test
    void acquiresOuterToInnerAndEndsInnerToOuter() throws Exception {
        List<String> order = new ArrayList<>();
        Pipeline pipeline = Pipeline.of(new OrderRecording("a", order), new OrderRecording("b", order));
        pipeline.run(() -> order.add("call"));
        assertEquals(List.of("acquire a", "acquire b", "call", "complete b", "complete a"), order);
    }

    @Test
    void failuresAreClassifiedPerPolicyAndRethrownUnchanged() {
        IOException failure = new IOException("boom");
        middle.classifier(Classifier.builder().ignore(IOException.class).build());
        Pipeline pipeline = Pipeline.of(outer, middle, inner);
        IOException thrown = assertThrows(IOException.class, () -> pipeline.call(() -> {
            throw failure;
        }));
        assertSame(failure, thrown);
        assertEquals(Outcome.FAILURE, outer.lastEnding().outcome());
        assertEquals(Outcome.IGNORED, middle.lastEnding().outcome());
        assertEquals(Outcome.FAILURE, inner.lastEnding().outcome());
    }

    @Test
    void resultsAreClassifiedToo() throws Exception {
        outer.classifier(Classifier.builder().failOnResult(Integer.class, status -> status >= 500).build());
        Pipeline pipeline = Pipeline.of(outer, inner);
        assertEquals(503, pipeline.call(() -> 503));
        assertEquals(Outcome.FAILURE, outer.lastEnding().outcome());
        assertEquals(Outcome.SUCCESS, inner.lastEnding().outcome());
    }

    @Test
    void anInnerRejectionReleasesTheOuterPermitsAndNeverCallsTheDependency() {
        inner.rejecting(true);
        AtomicInteger calls = new AtomicInteger();
        Pipeline pipeline = Pipeline.of(outer, middle, inner);
        RejectedException rejected = assertThrows(RejectedException.class, () -> pipeline.call(calls::incrementAndGet));
        assertEquals("inner", rejected.policyName());
        assertEquals(0, calls.get());
        assertEquals(0, inner.issuedCount());
        outer.assertEveryPermitEndedOnce();
        middle.assertEveryPermitEndedOnce();
        assertEquals(End.RELEASED, outer.lastEnding().end());
        assertEquals(End.RELEASED, middle.lastEnding().end());
    }

    @Test
    void aRejectionThrownByTheCallItselfIsAnOrdinaryFailure() {
        RejectedException downstream = new RejectedException("some-other-service", "its breaker is open", -1);
        Pipeline pipeline = Pipeline.of(outer, inner);
        assertThrows(RejectedException.class, () -> pipeline.call(() -> {
            throw downstream;
        }));
        assertEquals(End.COMPLETED, outer.lastEnding().end());
        assertEquals(Outcome.FAILURE, outer.lastEnding().outcome());
    }

    @Test
    void aRejectionFromAnotherPipelinesPolicyWithTheSameNameIsStillAFailure() {
        RecordingAdmission downstreamNamesake = new RecordingAdmission("inner").rejecting(true);
        Pipeline pipeline = Pipeline.of(outer, inner);
        assertThrows(RejectedException.class, () -> pipeline.call(() -> downstreamNamesake.call(() -> "never")));
        assertEquals(End.COMPLETED, outer.lastEnding().end(), "recognised by identity, not by name");
        assertEquals(Outcome.FAILURE, outer.lastEnding().outcome());
    }

    @Test
    void aThrowingClassifierReleasesThatPermitAndPropagatesWithTheCallFailureSuppressed() {
        IllegalStateException bug = new IllegalStateException("classifier bug");
        middle.classifier((result, failure) -> {
            throw bug;
        });
        IOException failure = new IOException("boom");
        Pipeline pipeline = Pipeline.of(outer, middle, inner);
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> pipeline.call(() -> {
            throw failure;
        }));
        assertSame(bug, thrown);
        assertSame(failure, thrown.getSuppressed()[0]);
        assertEquals(End.RELEASED, middle.lastEnding().end());
        assertEquals(End.COMPLETED, inner.lastEnding().end());
        assertEquals(End.COMPLETED, outer.lastEnding().end(), "outer classifies the classifier's exception");
        for (RecordingAdmission policy : List.of(outer, middle, inner)) {
            policy.assertEveryPermitEndedOnce();
        }
    }

    @Test
    void anInterruptedCallReleasesEveryPermit() {
        Pipeline pipeline = Pipeline.of(outer, inner);
        assertThrows(InterruptedException.class, () -> pipeline.call(() -> {
            throw new InterruptedException("cancelled");
        }));
        assertEquals(End.RELEASED, outer.lastEnding().end());
        assertEquals(End.RELEASED, inner.lastEnding().end());
    }

    @Test
    void skipsTheClockWhenNoPolicyMeasuresLatency() throws Exception {
        AtomicInteger reads = new AtomicInteger();
        RecordingAdmission quiet = new RecordingAdmission("quiet", () -> {
            reads.incrementAndGet();
            return 42L;
        }).measuresLatency(false);
        Pipeline.of(quiet).call(() -> "x");
        assertEquals(0, reads.get());
        assertEquals(0L, quiet.lastEnding().elapsedNanos());
    }

    @Test
    void asyncCompletesPermitsWhenTheStageCompletes() {
        Pipeline pipeline = Pipeline.of(outer, inner);
        CompletableFuture<String> source = new CompletableFuture<>();
        CompletionStage<String> result = pipeline.callAsync(() -> source);
        assertEquals(1, outer.inFlight());
        assertEquals(1, inner.inFlight());
        ticker.advance(Duration.ofMillis(3));
        source.complete("done");
        assertEquals("done", result.toCompletableFuture().join());
        outer.assertEveryPermitEndedOnce();
        inner.assertEveryPermitEndedOnce();
        assertEquals(Duration.ofMillis(3).toNanos(), inner.lastEnding().elapsedNanos());
    }

    @Test
    void asyncFailureIsClassifiedWithoutItsCompletionWrapper() {
        Pipeline pipeline = Pipeline.of(outer);
        outer.classifier(Classifier.builder().failOn(IOException.class).build());
        CompletableFuture<String> source = new CompletableFuture<>();
        CompletionStage<String> result = pipeline.callAsync(() -> source);
        source.completeExceptionally(new CompletionException(new IOException("io")));
        CompletionException thrown = assertThrows(CompletionException.class, () -> result.toCompletableFuture().join());
        assertInstanceOf(IOException.class, thrown.getCause());
        assertEquals(Outcome.FAILURE, outer.lastEnding().outcome());
    }

    @Test
    void cancellingTheAsyncResultReleasesPermitsAndCancelsTheSource() {
        Pipeline pipeline = Pipeline.of(outer, middle, inner);
        CompletableFuture<String> source = new CompletableFuture<>();
        CompletionStage<String> result = pipeline.callAsync(() -> source);
        assertTrue(result.toCompletableFuture().cancel(true));
        assertTrue(source.isCancelled());
        for (RecordingAdmission policy : List.of(outer, middle, inner)) {
            policy.assertEveryPermitEndedOnce();
            assertEquals(End.RELEASED, policy.lastEnding().end());
        }
        assertThrows(CancellationException.class, () -> result.toCompletableFuture().join());
    }

    @Test
    void cancellingTwiceEndsEachPermitOnce() {
        CompletableFuture<String> source = new CompletableFuture<>();
        CompletionStage<String> result = Pipeline.of(outer, inner).callAsync(() -> source);
        assertTrue(result.toCompletableFuture().cancel(false));
        assertTrue(result.toCompletableFuture().cancel(false), "already cancelled");
        source.complete("late");
        outer.assertEveryPermitEndedOnce();
        inner.assertEveryPermitEndedOnce();
    }

    @Test
    void asyncCallsNeverWaitForAPermit() {
        RecordingAdmission waiting = new RecordingAdmission("waiting") {
            @Override
            public long acquirePermit() throws InterruptedException {
                throw new AssertionError("an asynchronous call must not wait for a permit");
            }
        };
        assertEquals("ok", waiting.callAsync(() -> CompletableFuture.completedFuture("ok")).toCompletableFuture().join());
        waiting.assertEveryPermitEndedOnce();
    }

    @Test
    void asyncRejectionCompletesExceptionallyAndReleasesOuterPermits() {
        middle.rejecting(true);
        AtomicInteger started = new AtomicInteger();
        CompletionStage<String> result = Pipeline.of(outer, middle, inner).callAsync(() -> {
            started.incrementAndGet();
            return CompletableFuture.completedFuture("never");
        });
        CompletionException thrown = assertThrows(CompletionException.class, () -> result.toCompletableFuture().join());
        assertInstanceOf(RejectedException.class, thrown.getCause());
        assertEquals(0, started.get());
        assertEquals(End.RELEASED, outer.lastEnding().end());
        outer.assertEveryPermitEndedOnce();
    }

    @Test
    void aSupplierThatThrowsIsAFailedCall() {
        IllegalStateException failure = new IllegalStateException("could not start");
        CompletionStage<String> result = Pipeline.of(outer).callAsync(() -> {
            throw failure;
        });
        CompletionException thrown = assertThrows(CompletionException.class, () -> result.toCompletableFuture().join());
        assertSame(failure, thrown.getCause());
        assertEquals(Outcome.FAILURE, outer.lastEnding().outcome());
    }

    @Test
    void controlPoliciesWrapTheRestOfThePipeline() throws Exception {
        ManualScheduler scheduler = new ManualScheduler(ticker);
        Timeout timeout = Timeout.builder(Duration.ofSeconds(1)).scheduler(scheduler).build();
        Fallback<String> fallback = Fallback.ofValue("fallback");
        inner.rejecting(true);
        Pipeline pipeline = Pipeline.of(fallback, outer, timeout, inner);
        assertEquals("fallback", pipeline.call(() -> "unreachable"));
        assertEquals(End.RELEASED, outer.lastEnding().end(), "inner rejection passes through the timeout and is released");
        inner.rejecting(false);
        assertEquals("ok", pipeline.get(() -> "ok"));
        AtomicInteger runs = new AtomicInteger();
        pipeline.run(runs::incrementAndGet);
        assertEquals(1, runs.get());
        assertEquals(7, pipeline.execute(String::length, "seven!!"));
        assertEquals(3, pipeline.decorateFunction(String::length).apply("abc"));
        assertEquals(0, scheduler.pendingTasks(), "every timer was cancelled");
        outer.assertEveryPermitEndedOnce();
        inner.assertEveryPermitEndedOnce();
    }

    @Test
    void asyncThroughControlPolicies() {
        ManualScheduler scheduler = new ManualScheduler(ticker);
        Timeout timeout = Timeout.builder(Duration.ofMillis(100)).scheduler(scheduler).build();
        Pipeline pipeline = Pipeline.of(Fallback.ofValue("late"), outer, timeout, inner);
        CompletableFuture<String> source = new CompletableFuture<>();
        CompletionStage<String> result = pipeline.callAsync(() -> source);
        scheduler.advance(Duration.ofMillis(100));
        assertEquals("late", result.toCompletableFuture().join());
        assertTrue(source.isCancelled(), "the timeout cancelled the call");
        assertEquals(Outcome.FAILURE, outer.lastEnding().outcome(), "outside the timeout: a timeout is a failure");
        assertEquals(End.RELEASED, inner.lastEnding().end(), "inside the timeout: the call was cancelled");
        outer.assertEveryPermitEndedOnce();
        inner.assertEveryPermitEndedOnce();
    }

    @Test
    void nestedPipelinesAreFlattened() {
        Pipeline innerPipeline = Pipeline.of(middle, inner);
        Pipeline pipeline = Pipeline.builder().name("api").add(outer, innerPipeline).build();
        assertEquals(List.of(outer, middle, inner), pipeline.policies());
        assertEquals("api", pipeline.name());
        assertEquals("pipeline", pipeline.kind());
    }

    @Test
    void badInputIsRejectedWithTheParameterNamed() {
        IllegalArgumentException empty = assertThrows(IllegalArgumentException.class, Pipeline::of);
        assertTrue(empty.getMessage().contains("policies"), empty.getMessage());
        IllegalArgumentException nullElement = assertThrows(IllegalArgumentException.class, () -> Pipeline.of(outer, null));
        assertTrue(nullElement.getMessage().contains("policies[1]"), nullElement.getMessage());
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> Pipeline.of(outer, inner, outer));
        assertTrue(twice.getMessage().contains("policies[2]"), twice.getMessage());
        IllegalArgumentException blank = assertThrows(IllegalArgumentException.class, () -> Pipeline.builder().name(" "));
        assertTrue(blank.getMessage().contains("name"), blank.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Pipeline.of(outer).call(null));
        assertThrows(IllegalArgumentException.class, () -> Pipeline.of(outer).callAsync(null));
    }

    @Test
    void healthIsTheWorstOfItsPolicies() {
        Policy degraded = new HealthPolicy("limiter", Health.degraded("saturated"));
        Policy down = new HealthPolicy("breaker", Health.down("open"));
        assertEquals(Health.up(), Pipeline.of(outer, inner).health());
        Health health = Pipeline.of(outer, degraded, down).health();
        assertEquals(Health.Status.DOWN, health.status());
        assertEquals("limiter: DEGRADED (saturated); breaker: DOWN (open)", health.reason());
    }

    @Test
    void staleEpochsAreVisibleToThePolicy() throws Exception {
        Pipeline pipeline = Pipeline.of(outer);
        pipeline.call(() -> {
            outer.transition();
            return "admitted before the transition";
        });
        assertTrue(outer.lastEnding().stale(), "the permit carried the admitting epoch");
        pipeline.call(() -> "after");
        assertFalse(outer.lastEnding().stale());
    }

    @Test
    void aNullRejectionFromAPolicyBecomesAGenericRejection() {
        RecordingAdmission nullRejection = new RecordingAdmission("lazy") {
            @Override
            public RejectedException rejection() {
                return null;
            }
        }.rejecting(true);
        RejectedException thrown = assertThrows(RejectedException.class, () -> nullRejection.call(() -> 1));
        assertEquals("lazy", thrown.policyName());
        assertNull(thrown.getCause());
    }

    /** Records acquire and complete order. */
    private static final class OrderRecording extends NoOpAdmission {
        private final List<String> order;

        OrderRecording(String name, List<String> order) {
            super(name);
            this.order = order;
        }

        @Override
        public long tryAcquirePermit() {
            order.add("acquire " + name());
            return 0L;
        }

        @Override
        public void complete(long permit, Outcome outcome, long elapsedNanos) {
            order.add("complete " + name());
        }

        @Override
        public void release(long permit) {
            order.add("release " + name());
        }
    }

    /** A policy with fixed health. */
    private static final class HealthPolicy extends NoOpAdmission {
        private final Health health;

        HealthPolicy(String name, Health health) {
            super(name);
            this.health = health;
        }

        @Override
        public Health health() {
            return health;
        }
    }
}
