package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vigil.core.BackoffProperties.Bounds;
import dev.vigil.core.BackoffProperties.Model;
import dev.vigil.core.time.ManualScheduler;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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
 * {@link Retry} in virtual time ({@link ManualScheduler}: a synchronous retry "sleeps" by advancing the
 * virtual clock, an asynchronous one waits on scheduler timers), over random scenarios: maxAttempts,
 * an optional maxDuration, a random fixed, linear or exponential back-off with random jitter drawing
 * from a seeded generator, and calls whose attempts take random virtual time and fail or succeed by a
 * random script, some failures carrying a retry-after hint ({@link RateLimitedException}). The calls
 * are well behaved: an attempt never runs past {@link Deadline#currentRemainingNanos()}, and throws an
 * {@link IOException} if the deadline cut it short.
 *
 * <p>Checked for every call, synchronous ({@link Retry#call}) and asynchronous ({@link Retry#callAsync},
 * whose attempts are futures completed by scheduler tasks at the attempt's end):
 * <ul>
 *   <li>attempts never exceed maxAttempts, and only the last attempt of a call may have succeeded;</li>
 *   <li>the call's total virtual time never exceeds maxDuration, and the deadline the attempts see is
 *       the call's start plus maxDuration;</li>
 *   <li>each wait between attempts (from the end of one attempt to the start of the next) is at least
 *       the failed attempt's retry-after hint when it has one, and otherwise within the back-off's
 *       documented bounds for that retry ({@link BackoffProperties.Model}, computed independently;
 *       decorrelated jitter's {@code previous} is the previous wait);</li>
 *   <li>the outcome is the last attempt's: its result, or the very exception it threw;</li>
 *   <li>a call stops early (before maxAttempts, after a failure) only when the next wait could reach the
 *       deadline; and when the script succeeds within the attempts and even the longest possible waits
 *       fit in maxDuration, the call returns that success after exactly that many attempts;</li>
 *   <li>counters: success + successAfterRetry + failure + exhausted == calls (each the right one), and
 *       retryCount == attempts - calls.</li>
 * </ul>
 */
class RetryProperties {

    enum Scripted { SUCCESS, FAIL, RATE_LIMITED }

    /** One attempt's script: how long it takes, what it does, and its hint if rate limited. */
    record Step(long durationNanos, Scripted outcome, long hintNanos) {}

    record Scenario(int maxAttempts, long maxDurationNanos, Model backoff, long seed, List<List<Step>> calls) {
        boolean hasMaxDuration() {
            return maxDurationNanos > 0;
        }
    }

    /** What one attempt did, as the call observed it. */
    static final class Record {
        final int index;
        final Step step;
        final long start;
        final long remainingAtStart;
        long end = -1;
        boolean cut;
        Object result;
        Exception thrown;

        Record(int index, Step step, long start, long remainingAtStart) {
            this.index = index;
            this.step = step;
            this.start = start;
            this.remainingAtStart = remainingAtStart;
        }

        boolean succeeded() {
            return thrown == null;
        }

        /** The hint this attempt's failure carried, or -1. */
        long hint() {
            return thrown instanceof RateLimitedException ? ((RateLimitedException) thrown).retryAfterNanos() : -1L;
        }

        /** Completes the attempt at virtual time {@code now}: cut, or as scripted. */
        void finish(long now) {
            end = now;
            if (cut) {
                thrown = new IOException("attempt " + index + " cut by the deadline");
            } else if (step.outcome() == Scripted.SUCCESS) {
                result = "ok-" + index;
            } else if (step.outcome() == Scripted.FAIL) {
                thrown = new IOException("attempt " + index + " failed");
            } else {
                thrown = new RateLimitedException("dependency", "attempt " + index + " rate limited", step.hintNanos());
            }
        }
    }

    // ------------------------------------------------------------------ generators

    @Provide
    Arbitrary<Scenario> scenarios() {
        Arbitrary<Long> duration = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.just(0L)),
                Tuple.of(2, Arbitraries.longs().between(0, 1_000)),
                Tuple.of(6, Arbitraries.longs().between(0, 300_000_000L).withDistribution(RandomDistribution.uniform())));
        Arbitrary<Long> hint = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.just(0L)),
                Tuple.of(5, Arbitraries.longs().between(0, 600_000_000L).withDistribution(RandomDistribution.uniform())));
        Arbitrary<Scripted> outcome = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.just(Scripted.SUCCESS)),
                Tuple.of(5, Arbitraries.just(Scripted.FAIL)),
                Tuple.of(3, Arbitraries.just(Scripted.RATE_LIMITED)));
        Arbitrary<Step> step = Combinators.combine(duration, outcome, hint).as(Step::new);
        Arbitrary<List<Step>> script = step.list().ofSize(6);
        Arbitrary<Long> maxDuration = Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.just(0L)), // none
                Tuple.of(1, Arbitraries.longs().between(1, 1_000)),
                Tuple.of(5, Arbitraries.longs().between(1, 2_000_000_000L).withDistribution(RandomDistribution.uniform())));
        return Combinators.combine(Arbitraries.integers().between(1, 6), maxDuration, BackoffProperties.models(0, 300_000_000L),
                Arbitraries.longs(), script.list().ofMinSize(1).ofMaxSize(4)).as(Scenario::new);
    }

    private static Retry retry(Scenario scenario, ManualScheduler scheduler) {
        Retry.Builder builder = Retry.builder().maxAttempts(scenario.maxAttempts())
                .backoff(scenario.backoff().build(scenario.seed())).scheduler(scheduler);
        if (scenario.hasMaxDuration()) {
            builder.maxDuration(Duration.ofNanos(scenario.maxDurationNanos()));
        }
        return builder.build();
    }

    // ------------------------------------------------------------------ properties

    @Property(seed = "5510001", tries = 400)
    void synchronousCallsKeepEveryLimit(@ForAll("scenarios") Scenario scenario) throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        Retry retry = retry(scenario, scheduler);
        Tally tally = new Tally();
        for (List<Step> script : scenario.calls()) {
            List<Record> records = new ArrayList<>();
            long callStart = scheduler.ticker().read();
            Object result = null;
            Exception thrown = null;
            try {
                result = retry.call(() -> {
                    Record record = begin(scenario, script, records, scheduler, callStart);
                    long run = record.cut ? record.remainingAtStart : record.step.durationNanos();
                    scheduler.advance(Duration.ofNanos(run)); // the attempt takes virtual time, never past the deadline
                    record.finish(scheduler.ticker().read());
                    if (record.thrown != null) {
                        throw record.thrown;
                    }
                    return record.result;
                });
            } catch (Exception e) {
                thrown = e;
            }
            long callEnd = scheduler.ticker().read();
            check(scenario, script, records, callStart, callEnd, result, thrown);
            tally.add(records, thrown == null);
        }
        tally.check(retry);
    }

    @Property(seed = "5510002", tries = 400)
    void asynchronousCallsKeepEveryLimit(@ForAll("scenarios") Scenario scenario) throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        Retry retry = retry(scenario, scheduler);
        Tally tally = new Tally();
        for (List<Step> script : scenario.calls()) {
            List<Record> records = new ArrayList<>();
            long callStart = scheduler.ticker().read();
            List<AssertionError> violations = new ArrayList<>();
            CompletionStage<Object> stage = retry.callAsync(() -> {
                Record record;
                try {
                    record = begin(scenario, script, records, scheduler, callStart);
                } catch (AssertionError violation) {
                    violations.add(violation); // a failed check inside the call would only fail the attempt: report it
                    throw violation;
                }
                CompletableFuture<Object> attempt = new CompletableFuture<>();
                long run = record.cut ? record.remainingAtStart : record.step.durationNanos();
                Runnable finish = () -> {
                    record.finish(scheduler.ticker().read());
                    if (record.thrown != null) {
                        attempt.completeExceptionally(record.thrown);
                    } else {
                        attempt.complete(record.result);
                    }
                };
                if (run == 0) {
                    finish.run(); // an attempt that completes at once: the retry continues inline
                } else {
                    scheduler.schedule(finish, run);
                }
                return attempt;
            });
            CompletableFuture<Object> future = stage.toCompletableFuture();
            while (!future.isDone()) {
                long next = scheduler.nanosUntilNextTask();
                assertTrue(next >= 0, "the retry's future is pending with nothing scheduled: it would never complete");
                scheduler.advance(Duration.ofNanos(next));
            }
            if (!violations.isEmpty()) {
                throw violations.get(0);
            }
            long callEnd = scheduler.ticker().read();
            Object result = null;
            Exception thrown = null;
            try {
                result = future.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Error) {
                    throw (Error) e.getCause();
                }
                thrown = (Exception) e.getCause();
            }
            check(scenario, script, records, callStart, callEnd, result, thrown);
            tally.add(records, thrown == null);
            assertEquals(0, scheduler.pendingTasks(), "no timer left behind");
        }
        tally.check(retry);
    }

    /** Starts an attempt: records it and checks what the call sees (attempt number, deadline). */
    private static Record begin(Scenario scenario, List<Step> script, List<Record> records, ManualScheduler scheduler, long callStart) {
        int index = records.size();
        if (index >= scenario.maxAttempts()) {
            fail("attempt " + (index + 1) + " started, but maxAttempts is " + scenario.maxAttempts());
        }
        assertEquals(index + 1, Attempt.currentNumber(), "Attempt.currentNumber() inside the call");
        long now = scheduler.ticker().read();
        long remaining = Deadline.currentRemainingNanos();
        if (scenario.hasMaxDuration()) {
            assertEquals(Math.max(0L, callStart + scenario.maxDurationNanos() - now), remaining,
                    "the deadline inside the call is the call's start plus maxDuration");
        } else {
            assertEquals(Long.MAX_VALUE, remaining, "no deadline without maxDuration");
        }
        Record record = new Record(index, script.get(index), now, remaining);
        record.cut = record.step.durationNanos() > remaining;
        records.add(record);
        return record;
    }

    /** The per-call checks shared by the synchronous and asynchronous properties. */
    private static void check(Scenario scenario, List<Step> script, List<Record> records, long callStart, long callEnd,
                              Object result, Exception thrown) {
        String context = "\n  scenario " + scenario + "\n  script " + script;
        int attempts = records.size();
        assertTrue(attempts >= 1 && attempts <= scenario.maxAttempts(), attempts + " attempts" + context);
        Record last = records.get(attempts - 1);
        assertEquals(last.end, callEnd, "the call ends when its last attempt ends" + context);
        long deadline = scenario.hasMaxDuration() ? callStart + scenario.maxDurationNanos() : Long.MAX_VALUE;
        if (scenario.hasMaxDuration()) {
            assertTrue(callEnd - callStart <= scenario.maxDurationNanos(),
                    "the call took " + (callEnd - callStart) + " ns, maxDuration is " + scenario.maxDurationNanos() + context);
        }

        // Every attempt but the last failed; the waits honour hints and the back-off's bounds.
        long previousWait = 0L;
        for (int i = 0; i < attempts - 1; i++) {
            Record failed = records.get(i);
            Record next = records.get(i + 1);
            assertFalse(failed.succeeded(), "attempt " + (i + 1) + " succeeded, yet the call went on" + context);
            assertTrue(next.start < deadline, "attempt " + (i + 2) + " started at or after the deadline" + context);
            long wait = next.start - failed.end;
            long hint = failed.hint();
            Bounds bounds = scenario.backoff().bounds(i + 1, previousWait);
            if (hint >= 0) {
                assertTrue(wait >= hint, "waited " + wait + " ns after a retry-after hint of " + hint + context);
                if (wait != hint) {
                    bounds.assertContains("the wait before attempt " + (i + 2) + " (longer than the hint " + hint + ")", wait);
                }
            } else {
                bounds.assertContains("the wait before attempt " + (i + 2), wait);
            }
            previousWait = wait;
        }

        // The outcome is the last attempt's.
        if (last.succeeded()) {
            assertEquals(last.result, result, context);
            assertEquals(null, thrown, context);
        } else {
            assertNotNull(thrown, "the last attempt failed, yet the call returned " + result + context);
            assertSame(last.thrown, thrown, "the exception is the last attempt's" + context);
            if (attempts < scenario.maxAttempts()) {
                // Gave up early: only because the next wait could reach the deadline.
                assertTrue(scenario.hasMaxDuration(), "gave up after " + attempts + " attempts without a deadline" + context);
                long remaining = Math.max(0, deadline - last.end);
                long longest = Math.max(scenario.backoff().bounds(attempts, previousWait).highCeil(), last.hint());
                assertTrue(longest >= remaining, "gave up with " + remaining + " ns left, though every wait allowed is at most "
                        + longest + context);
            }
        }

        // The prediction: a scripted success that fits even with the longest waits is returned.
        int firstSuccess = -1;
        for (int i = 0; i < scenario.maxAttempts(); i++) {
            if (script.get(i).outcome() == Scripted.SUCCESS) {
                firstSuccess = i;
                break;
            }
        }
        if (firstSuccess < 0) {
            assertNotNull(thrown, "no attempt may succeed, yet the call returned" + context);
            if (!scenario.hasMaxDuration()) {
                assertEquals(scenario.maxAttempts(), attempts, "without a deadline every attempt is made" + context);
            }
            return;
        }
        long worstCase = 0L;
        long worstWait = 0L;
        for (int i = 0; i <= firstSuccess; i++) {
            worstCase += script.get(i).durationNanos();
            if (i < firstSuccess) {
                worstWait = Math.max(scenario.backoff().bounds(i + 1, worstWait).highCeil(),
                        script.get(i).outcome() == Scripted.RATE_LIMITED ? script.get(i).hintNanos() : -1L);
                worstCase += worstWait;
            }
        }
        if (!scenario.hasMaxDuration() || worstCase < scenario.maxDurationNanos()) {
            assertEquals(firstSuccess + 1, attempts, "the scripted success fits (worst case " + worstCase + " ns)" + context);
            assertEquals("ok-" + firstSuccess, result, context);
        }
    }

    /** Expected counters over the calls made through one retry. */
    static final class Tally {
        long calls;
        long attempts;
        long firstAttemptSuccesses;
        long laterSuccesses;
        long exhausted;

        void add(List<Record> records, boolean succeeded) {
            calls++;
            attempts += records.size();
            if (!succeeded) {
                exhausted++; // every failure here is retryable: the retries ran out (attempts or time)
            } else if (records.size() == 1) {
                firstAttemptSuccesses++;
            } else {
                laterSuccesses++;
            }
        }

        void check(Retry retry) {
            assertEquals(calls, retry.successCount() + retry.successAfterRetryCount() + retry.failureCount() + retry.exhaustedCount(),
                    "every call is counted once");
            assertEquals(attempts - calls, retry.retryCount(), "retries = attempts - calls");
            assertEquals(firstAttemptSuccesses, retry.successCount(), "successCount");
            assertEquals(laterSuccesses, retry.successAfterRetryCount(), "successAfterRetryCount");
            assertEquals(0, retry.failureCount(), "failureCount: every failure here is retryable");
            assertEquals(exhausted, retry.exhaustedCount(), "exhaustedCount");
        }
    }
}
