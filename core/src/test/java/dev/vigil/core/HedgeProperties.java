package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.time.ManualScheduler;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;

/**
 * {@link Hedge} in virtual time ({@link ManualScheduler}) over random scenarios: maxHedges 1..5, a fixed
 * delay, attempts whose latencies and outcomes are random (each attempt is a {@link CompletableFuture}
 * that a scheduler task completes at its virtual end time; a zero latency completes it at once), an
 * optional token-bucket {@link RetryBudget} (partly drained, so it refuses some hedges), an optional
 * cancellation of the returned future at a random time, and several calls in a row.
 *
 * <p>Every event (an attempt starting, the test completing an attempt, the hedged call completing, the
 * budget answering, the cancellation) gets a sequence number, so "before" and "after" are exact even
 * among events at the same virtual time. Checked for every call:
 * <ul>
 *   <li>at most {@code 1 + maxHedges} attempts start, none after the call completed, and after a budget
 *       refusal none at all; each hedge starts either a whole number of delays after the call started
 *       (the hedge timer) or when an earlier attempt failed;</li>
 *   <li>the outcome is the first acceptable completion in virtual-time order (the call completes right
 *       then), or, if every attempt failed, the last failure (then every allowed attempt was started,
 *       and a budget refusal is attached as a suppressed {@link RetryBudgetExhaustedException});</li>
 *   <li>when the call completes, every other attempt that started and had not completed is cancelled;
 *       cancelling the returned future cancels every started attempt that had not completed, and
 *       no attempt starts afterwards;</li>
 *   <li>{@code hedgeCount()} equals attempts - calls, the budget is asked once per hedge and told of
 *       each call, each failed attempt and each winning success, and no timer is left pending.</li>
 * </ul>
 */
class HedgeProperties {

    record Spec(long latencyNanos, boolean succeeds) {}

    /** One call: its attempts' scripts (one per possible attempt) and when (if ever) the caller cancels it. */
    record Call(List<Spec> attempts, long cancelAtNanos) {}

    record Scenario(int maxHedges, long delayNanos, boolean withBudget, int maxTokens, int ratioThousandths, int drain,
                    List<Call> calls) {}

    @Provide
    Arbitrary<Scenario> scenarios() {
        // Latencies and the delay on a 10 ms grid half the time, so that timers and completions often tie.
        Arbitrary<Long> latency = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.just(0L)),
                Tuple.of(4, Arbitraries.longs().between(0, 30).withDistribution(RandomDistribution.uniform()).map(n -> n * 10_000_000L)),
                Tuple.of(4, Arbitraries.longs().between(0, 300_000_000L).withDistribution(RandomDistribution.uniform())));
        Arbitrary<Spec> spec = Combinators.combine(latency, Arbitraries.integers().between(0, 99)).as((l, p) -> new Spec(l, p < 35));
        Arbitrary<Long> cancelAt = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just(-1L)),
                Tuple.of(1, Arbitraries.longs().between(0, 40).withDistribution(RandomDistribution.uniform()).map(n -> n * 10_000_000L)),
                Tuple.of(1, Arbitraries.longs().between(0, 400_000_000L).withDistribution(RandomDistribution.uniform())));
        Arbitrary<Call> call = Combinators.combine(spec.list().ofSize(6), cancelAt).as(Call::new);
        Arbitrary<Long> delay = Arbitraries.oneOf(Arbitraries.longs().between(0, 6).map(n -> n * 10_000_000L),
                Arbitraries.longs().between(0, 60_000_000L).withDistribution(RandomDistribution.uniform()));
        return Combinators.combine(Arbitraries.integers().between(1, 5), delay, Arbitraries.of(true, false),
                Arbitraries.integers().between(2, 10), Arbitraries.integers().between(1, 1000), Arbitraries.integers().between(0, 4),
                call.list().ofMinSize(1).ofMaxSize(3)).as(Scenario::new);
    }

    /** The order of events, across everything the test observes. */
    static final class Clock {
        long sequence;

        long next() {
            return ++sequence;
        }
    }

    /** What one attempt did. */
    static final class Record {
        final int index;
        final long start;
        final long startSeq;
        final CompletableFuture<String> future = new CompletableFuture<>();
        long completedSeq = -1;
        long completedAt = -1;
        Exception thrown;
        String value;

        Record(int index, long start, long startSeq) {
            this.index = index;
            this.start = start;
            this.startSeq = startSeq;
        }

        boolean completedByTest() {
            return completedSeq >= 0;
        }
    }

    /** A budget that forwards to a token bucket and records each question and answer, in sequence. */
    static final class RecordingBudget implements RetryBudget {
        final RetryBudget delegate;
        final Clock clock;
        long calls;
        long successes;
        long failures;
        long grants;
        long lastDenialSeq = -1;

        RecordingBudget(RetryBudget delegate, Clock clock) {
            this.delegate = delegate;
            this.clock = clock;
        }

        @Override
        public String name() {
            return "recording";
        }

        @Override
        public void onCall() {
            calls++;
            delegate.onCall();
        }

        @Override
        public void onSuccess() {
            successes++;
            delegate.onSuccess();
        }

        @Override
        public void onFailure() {
            failures++;
            delegate.onFailure();
        }

        @Override
        public boolean tryAcquireRetry() {
            throw new AssertionError("a hedge asks tryAcquireHedge, not tryAcquireRetry");
        }

        @Override
        public boolean tryAcquireHedge() {
            boolean granted = delegate.tryAcquireHedge();
            if (granted) {
                grants++;
            } else {
                lastDenialSeq = clock.next();
            }
            return granted;
        }

        @Override
        public long available() {
            return delegate.available();
        }

        @Override
        public long deniedCount() {
            return delegate.deniedCount();
        }
    }

    @Property(seed = "8810001", tries = 600)
    void hedgedCallsRaceCancelAndCountAsDocumented(@ForAll("scenarios") Scenario scenario) throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        Clock clock = new Clock();
        RecordingBudget budget = null;
        Hedge.Builder builder = Hedge.builder().idempotent(true).maxHedges(scenario.maxHedges())
                .delay(Duration.ofNanos(scenario.delayNanos())).scheduler(scheduler);
        if (scenario.withBudget()) {
            RetryBudget bucket = RetryBudget.tokenBucket().maxTokens(scenario.maxTokens())
                    .tokenRatio(scenario.ratioThousandths() / 1000.0).build();
            for (int i = 0; i < scenario.drain(); i++) {
                bucket.onFailure();
            }
            budget = new RecordingBudget(bucket, clock);
            builder.budget(budget);
        }
        Hedge hedge = builder.build();
        long totalAttempts = 0;
        for (int c = 0; c < scenario.calls().size(); c++) {
            Call call = scenario.calls().get(c);
            String context = "\n  call " + c + " of " + scenario;
            long grantsBefore = budget == null ? 0 : budget.grants;
            long failuresBefore = budget == null ? 0 : budget.failures;
            long successesBefore = budget == null ? 0 : budget.successes;
            long denialBefore = budget == null ? -1 : budget.lastDenialSeq;
            List<Record> records = new ArrayList<>();
            long callStart = scheduler.ticker().read();
            long callStartSeq = clock.next();

            List<AssertionError> violations = new ArrayList<>();
            CompletableFuture<String> future = hedge.<String>callAsync(() -> {
                int index = records.size();
                Record record = new Record(index, scheduler.ticker().read(), clock.next());
                records.add(record);
                try {
                    assertTrue(index <= scenario.maxHedges(), "attempt " + (index + 1) + " started; maxHedges is " + scenario.maxHedges() + context);
                    assertEquals(index + 1, Attempt.currentNumber(), "Attempt.currentNumber()" + context);
                } catch (AssertionError violation) {
                    violations.add(violation); // a failed check inside the call would only fail the attempt: report it
                    throw violation;
                }
                Spec spec = call.attempts().get(index);
                Runnable finish = () -> {
                    long seq = clock.next(); // taken before completing: the call may complete inside complete()
                    String value = "value-" + index;
                    Exception failure = new IOException("attempt " + index + " failed");
                    boolean completed = spec.succeeds() ? record.future.complete(value) : record.future.completeExceptionally(failure);
                    if (completed) {
                        record.completedSeq = seq;
                        record.completedAt = scheduler.ticker().read();
                        record.value = spec.succeeds() ? value : null;
                        record.thrown = spec.succeeds() ? null : failure;
                    }
                };
                if (spec.latencyNanos() == 0) {
                    finish.run();
                } else {
                    scheduler.schedule(finish, spec.latencyNanos());
                }
                return record.future;
            }).toCompletableFuture();
            long[] doneSeq = {-1};
            future.whenComplete((v, e) -> doneSeq[0] = clock.next());
            long[] cancelSeq = {-1};
            if (call.cancelAtNanos() >= 0) {
                scheduler.schedule(() -> {
                    long seq = clock.next();
                    if (future.cancel(true)) {
                        cancelSeq[0] = seq;
                    }
                }, call.cancelAtNanos());
            }
            for (long next = scheduler.nanosUntilNextTask(); next >= 0; next = scheduler.nanosUntilNextTask()) {
                scheduler.advance(Duration.ofNanos(next));
            }

            if (!violations.isEmpty()) {
                throw violations.get(0);
            }
            assertTrue(future.isDone(), "the hedged call never completed" + context);
            assertEquals(0, scheduler.pendingTasks(), "a timer was left pending" + context);
            int started = records.size();
            totalAttempts += started;
            assertTrue(started >= 1 && started <= 1 + scenario.maxHedges(), started + " attempts" + context);
            assertEquals(totalAttempts - (c + 1), hedge.hedgeCount(), "hedgeCount = attempts - calls" + context);
            long end = cancelSeq[0] >= 0 ? cancelSeq[0] : doneSeq[0];
            for (Record record : records) {
                assertTrue(record.startSeq < end, "attempt " + (record.index + 1) + " started after the call completed" + context);
            }

            // When hedges start: on the timer (whole delays after the start) or when an earlier attempt failed.
            for (Record record : records.subList(1, started)) {
                long sinceStart = record.start - callStart;
                boolean onTimer = sinceStart >= scenario.delayNanos()
                        && (scenario.delayNanos() == 0 ? sinceStart == 0 : sinceStart % scenario.delayNanos() == 0);
                boolean afterFailure = records.stream().anyMatch(r -> r.thrown != null && r.completedSeq < record.startSeq
                        && r.completedAt == record.start);
                assertTrue(onTimer || afterFailure, "attempt " + (record.index + 1) + " started at " + sinceStart
                        + " ns, neither on the hedge timer nor when an attempt failed" + context);
            }

            if (cancelSeq[0] >= 0) {
                // Cancelled by the caller: every started attempt that had not completed is cancelled.
                assertTrue(future.isCancelled(), context);
                for (Record record : records) {
                    assertTrue(record.future.isCancelled() || record.completedSeq < cancelSeq[0],
                            "attempt " + (record.index + 1) + " neither completed before the cancellation nor cancelled" + context);
                }
            } else {
                checkOutcome(scenario, budget, denialBefore, records, future, doneSeq[0], context);
            }

            if (budget != null) {
                long hedges = started - 1;
                assertEquals(hedges, budget.grants - grantsBefore, "the budget grants each hedge that starts" + context);
                if (budget.lastDenialSeq != denialBefore) {
                    for (Record record : records) {
                        assertTrue(record.startSeq < budget.lastDenialSeq, "attempt " + (record.index + 1) + " started after the budget refused" + context);
                    }
                }
                long failed = records.stream().filter(r -> r.thrown != null && r.completedSeq < end).count();
                assertEquals(failed, budget.failures - failuresBefore, "the budget hears of every failed attempt" + context);
                boolean successWon = cancelSeq[0] < 0 && !future.isCompletedExceptionally();
                assertEquals(successWon ? 1 : 0, budget.successes - successesBefore, "the budget hears of the winning success" + context);
            }
        }
        if (budget != null) {
            assertEquals(scenario.calls().size(), budget.calls, "the budget hears of every call");
        }
    }

    /** A call that completed by itself: first acceptable completion wins, losers cancelled; or the last failure. */
    private static void checkOutcome(Scenario scenario, RecordingBudget budget, long denialBefore, List<Record> records,
                                     CompletableFuture<String> future, long doneSeq, String context) throws InterruptedException {
        Record winner = records.stream().filter(r -> r.completedByTest() && r.thrown == null)
                .min((a, b) -> Long.compare(a.completedSeq, b.completedSeq)).orElse(null);
        if (winner != null) {
            assertEquals(winner.completedSeq + 1, doneSeq, "the call completes with the first acceptable completion" + context);
            try {
                assertEquals(winner.value, future.get(), "the first acceptable completion's result" + context);
            } catch (ExecutionException e) {
                throw new AssertionError("failed although attempt " + (winner.index + 1) + " succeeded" + context, e);
            }
            for (Record record : records) {
                if (record != winner) {
                    assertTrue(record.future.isCancelled() || record.completedSeq < doneSeq,
                            "attempt " + (record.index + 1) + " still running after attempt " + (winner.index + 1) + " won" + context);
                }
            }
            return;
        }
        // Every attempt failed.
        Throwable failure = null;
        try {
            future.get();
        } catch (ExecutionException e) {
            failure = e.getCause();
        } catch (CancellationException e) {
            throw new AssertionError("cancelled, though the caller did not cancel it" + context, e);
        }
        assertNotNull(failure, "no attempt succeeded, yet the call did" + context);
        Record last = null;
        for (Record record : records) {
            assertTrue(record.completedByTest() && record.thrown != null && record.completedSeq < doneSeq,
                    "the call failed before attempt " + (record.index + 1) + " failed" + context);
            if (last == null || record.completedSeq > last.completedSeq) {
                last = record;
            }
        }
        assertNotNull(last);
        assertSame(last.thrown, failure, "the call fails with the last failure" + context);
        boolean refused = budget != null && budget.lastDenialSeq != denialBefore;
        if (refused) {
            assertTrue(Arrays.stream(failure.getSuppressed()).anyMatch(s -> s instanceof RetryBudgetExhaustedException),
                    "a budget refusal is attached to the failure" + context);
        } else {
            assertEquals(1 + scenario.maxHedges(), records.size(), "without a refusal every allowed attempt is made before failing" + context);
            assertFalse(Arrays.stream(failure.getSuppressed()).anyMatch(s -> s instanceof RetryBudgetExhaustedException), context);
        }
    }
}
