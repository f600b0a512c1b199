package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.RecordingAdmission.End;
import dev.vigil.core.time.ManualScheduler;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Conservation of permits: for any pipeline of admission policies (with or without control policies
 * among them) and any sequence of calls that succeed, fail, return failed results, are rejected by
 * some policy, hit a throwing classifier, are interrupted, or (asynchronously) complete, fail or are
 * cancelled, every permit ends exactly once, and each ends the way a sequential model says.
 */
class PipelineProperties {

    enum Kind {
        RETURN, FAILED_RESULT, THROW_CHECKED, THROW_UNCHECKED, INTERRUPTED, REJECT_AT, CLASSIFIER_THROWS_AT,
        /** The call outlives the (1 hour) timeout, if the pipeline has one: it is interrupted for real. */
        SLOW,
        ASYNC_SUCCESS, ASYNC_FAILURE, ASYNC_CANCEL, ASYNC_THROW_ON_START, ASYNC_REJECT_AT, ASYNC_CLASSIFIER_THROWS_AT,
        /** The async call outlives the timeout, if any: the timeout fires and cancels it. */
        ASYNC_SLOW
    }

    record Step(Kind kind, int index) {}

    @Provide
    Arbitrary<List<Step>> steps() {
        Arbitrary<Step> step = Combinators.combine(Arbitraries.of(Kind.class), Arbitraries.integers().between(0, 4))
                .as(Step::new);
        return step.list().ofMinSize(1).ofMaxSize(40);
    }

    @Property(seed = "20261121", tries = 300)
    void everyPermitEndsExactlyOnceAsTheModelSays(
            @ForAll @IntRange(min = 1, max = 5) int width,
            @ForAll("steps") List<Step> steps,
            @ForAll @IntRange(min = -1, max = 5) int controlPosition,
            @ForAll boolean controlIsFallback) throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        List<RecordingAdmission> admissions = new ArrayList<>();
        List<ThrowingSwitch> classifierSwitches = new ArrayList<>();
        for (int i = 0; i < width; i++) {
            ThrowingSwitch classifierSwitch = new ThrowingSwitch();
            classifierSwitches.add(classifierSwitch);
            RecordingAdmission admission = new RecordingAdmission("p" + i, scheduler.ticker())
                    .measuresLatency(i % 2 == 0);
            admission.classifier(classifierSwitch.wrap(Classifier.builder()
                    .failOnResult(String.class, "failed"::equals).build()));
            admissions.add(admission);
        }
        List<Policy> policies = new ArrayList<>(admissions);
        if (controlPosition >= 0) {
            Policy control = controlIsFallback
                    ? Fallback.ofValue("fallback")
                    : Timeout.builder(Duration.ofHours(1)).scheduler(scheduler).build();
            policies.add(Math.min(controlPosition, policies.size()), control);
        }
        Pipeline pipeline = Pipeline.of(policies.toArray(new Policy[0]));

        for (Step step : steps) {
            int k = step.index() % width;
            admissions.forEach(a -> a.rejecting(false));
            classifierSwitches.forEach(s -> s.enabled = false);
            List<Long> before = new ArrayList<>();
            admissions.forEach(a -> before.add((long) a.issuedCount()));

            run(pipeline, admissions, classifierSwitches, scheduler, step.kind(), k);

            for (int i = 0; i < width; i++) {
                RecordingAdmission admission = admissions.get(i);
                admission.assertEveryPermitEndedOnce();
                boolean issued = admission.issuedCount() > before.get(i);
                int controlAt = controlPosition >= 0 ? Math.min(controlPosition, width) : -1;
                Expected expected = expected(step.kind(), k, i, controlIsFallback ? controlAt : -1,
                        controlIsFallback ? -1 : controlAt);
                if (expected == Expected.NOT_ISSUED) {
                    assertEquals(before.get(i), (long) admission.issuedCount(), "p" + i + " must not admit after " + step);
                    continue;
                }
                assertTrue(issued, "p" + i + " must admit for " + step);
                RecordingAdmission.Ending ending = admission.lastEnding();
                switch (expected) {
                    case RELEASED -> assertEquals(End.RELEASED, ending.end(), "p" + i + " " + step);
                    case SUCCESS -> assertEquals(Outcome.SUCCESS, ending.outcome(), "p" + i + " " + step);
                    case FAILURE -> assertEquals(Outcome.FAILURE, ending.outcome(), "p" + i + " " + step);
                    default -> throw new AssertionError(expected);
                }
            }
        }
        assertEquals(0, scheduler.pendingTasks(), "every timeout timer was cancelled");
    }

    enum Expected { NOT_ISSUED, RELEASED, SUCCESS, FAILURE }

    /**
     * The sequential model of how policy {@code i}'s permit ends when the step targets policy
     * {@code k}, with a fallback (if {@code fallbackAt >= 0}) or a one-hour timeout (if
     * {@code timeoutAt >= 0}) just outside admission policy {@code fallbackAt}/{@code timeoutAt}.
     * A timeout is transparent except to slow calls: inside it, the call is interrupted or cancelled
     * (released); outside it, the call failed with a timeout.
     */
    private static Expected expected(Kind kind, int k, int i, int fallbackAt, int timeoutAt) {
        if (kind == Kind.SLOW || kind == Kind.ASYNC_SLOW) {
            if (timeoutAt < 0) {
                return Expected.SUCCESS; // nothing bounds the call: it completes, late but fine
            }
            return i >= timeoutAt ? Expected.RELEASED : Expected.FAILURE;
        }
        if (fallbackAt < 0 || i >= fallbackAt) {
            return expected(kind, k, i);
        }
        // Policy i is outside the fallback: it sees whatever the fallback made of the inner outcome.
        return switch (kind) {
            case RETURN, ASYNC_SUCCESS, THROW_CHECKED, THROW_UNCHECKED, ASYNC_FAILURE, ASYNC_THROW_ON_START -> Expected.SUCCESS;
            case FAILED_RESULT -> Expected.FAILURE; // a result the fallback accepts, but these policies fail
            case INTERRUPTED, ASYNC_CANCEL -> Expected.RELEASED;
            case REJECT_AT, ASYNC_REJECT_AT -> k < fallbackAt ? expected(kind, k, i) : Expected.SUCCESS;
            case SLOW, ASYNC_SLOW -> throw new AssertionError("handled above");
            case CLASSIFIER_THROWS_AT, ASYNC_CLASSIFIER_THROWS_AT -> k >= fallbackAt ? Expected.SUCCESS
                    : i == k ? Expected.RELEASED : i < k ? Expected.FAILURE : Expected.SUCCESS;
        };
    }

    /** The model without a fallback. */
    private static Expected expected(Kind kind, int k, int i) {
        return switch (kind) {
            case RETURN, ASYNC_SUCCESS -> Expected.SUCCESS;
            case FAILED_RESULT, THROW_CHECKED, THROW_UNCHECKED, ASYNC_FAILURE, ASYNC_THROW_ON_START -> Expected.FAILURE;
            case INTERRUPTED, ASYNC_CANCEL -> Expected.RELEASED;
            case REJECT_AT, ASYNC_REJECT_AT -> i < k ? Expected.RELEASED : Expected.NOT_ISSUED;
            // Inner policies classify the call's failure; the throwing one releases; outer ones then
            // see the classifier's exception, which is a failure.
            case CLASSIFIER_THROWS_AT, ASYNC_CLASSIFIER_THROWS_AT -> i == k ? Expected.RELEASED : Expected.FAILURE;
            case SLOW, ASYNC_SLOW -> throw new AssertionError("handled by the caller");
        };
    }

    private static void run(Pipeline pipeline, List<RecordingAdmission> admissions, List<ThrowingSwitch> switches,
            ManualScheduler scheduler, Kind kind, int k) {
        try {
            switch (kind) {
                case RETURN -> pipeline.call(() -> "ok");
                case FAILED_RESULT -> pipeline.call(() -> "failed");
                case THROW_CHECKED -> pipeline.call(() -> {
                    throw new IOException("io");
                });
                case THROW_UNCHECKED -> pipeline.run(() -> {
                    throw new IllegalStateException("bug");
                });
                case INTERRUPTED -> pipeline.call(() -> {
                    throw new InterruptedException("interrupted");
                });
                case REJECT_AT -> {
                    admissions.get(k).rejecting(true);
                    pipeline.call(() -> "unreachable");
                }
                case CLASSIFIER_THROWS_AT -> {
                    switches.get(k).enabled = true;
                    pipeline.call(() -> {
                        throw new IOException("io");
                    });
                }
                case SLOW -> pipeline.call(() -> {
                    scheduler.advance(Duration.ofHours(2)); // the timeout, if any, fires meanwhile
                    if (Thread.currentThread().isInterrupted()) {
                        throw new InterruptedException("interrupted by the timeout");
                    }
                    return "late";
                });
                case ASYNC_SLOW -> {
                    CompletableFuture<String> source = new CompletableFuture<>();
                    CompletionStage<String> result = pipeline.callAsync(() -> source);
                    scheduler.advance(Duration.ofHours(2)); // the timeout, if any, fires and cancels
                    source.complete("late");
                    join(result);
                }
                case ASYNC_CLASSIFIER_THROWS_AT -> {
                    switches.get(k).enabled = true;
                    CompletableFuture<String> source = new CompletableFuture<>();
                    CompletionStage<String> result = pipeline.callAsync(() -> source);
                    source.completeExceptionally(new IOException("io"));
                    join(result);
                }
                case ASYNC_SUCCESS -> join(pipeline.callAsync(() -> CompletableFuture.completedFuture("ok")));
                case ASYNC_FAILURE -> {
                    CompletableFuture<String> source = new CompletableFuture<>();
                    CompletionStage<String> result = pipeline.callAsync(() -> source);
                    source.completeExceptionally(new IOException("io"));
                    join(result);
                }
                case ASYNC_CANCEL -> {
                    CompletableFuture<String> source = new CompletableFuture<>();
                    CompletionStage<String> result = pipeline.callAsync(() -> source);
                    result.toCompletableFuture().cancel(true);
                    if (!source.isCancelled()) {
                        throw new AssertionError("cancellation did not reach the source");
                    }
                }
                case ASYNC_THROW_ON_START -> join(pipeline.callAsync(() -> {
                    throw new IllegalStateException("could not start");
                }));
                case ASYNC_REJECT_AT -> {
                    admissions.get(k).rejecting(true);
                    join(pipeline.callAsync(() -> CompletableFuture.completedFuture("unreachable")));
                }
            }
        } catch (Exception expectedForSomeKinds) {
            // Outcomes are checked through the policies' records, not through what was thrown.
        }
        Thread.interrupted(); // a test step never leaves the worker interrupted
    }

    private static void join(CompletionStage<?> stage) {
        try {
            stage.toCompletableFuture().join();
        } catch (RuntimeException expected) {
            // as above
        }
    }

    /** A classifier wrapper that throws while enabled. */
    private static final class ThrowingSwitch {
        volatile boolean enabled;

        Classifier wrap(Classifier delegate) {
            return (result, failure) -> {
                if (enabled) {
                    throw new IllegalStateException("classifier bug");
                }
                return delegate.classify(result, failure);
            };
        }
    }
}
