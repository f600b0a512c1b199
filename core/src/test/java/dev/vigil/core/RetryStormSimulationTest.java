package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.event.PolicyEvent;
import dev.vigil.core.time.ManualScheduler;
import dev.vigil.core.time.Ticker;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * A retry storm, simulated in virtual time ({@link ManualScheduler}), deterministic (seeded): 200
 * clients each send a request every 100 ms (each from its own seeded offset) for 30 s, through an
 * asynchronous {@link Retry} (4 attempts, exponential back-off from 10 ms with full jitter), to a
 * dependency that answers in 1-10 ms and fails every attempt that starts between 10 s and 20 s. The load
 * on the dependency (attempts) is compared with the requests, three times over:
 *
 * <ul>
 *   <li><b>no budget</b>: every request sent in [10 s, 19.9 s) makes exactly 4 attempts, all inside the
 *       window (its last attempt starts at most 3 * 10 ms of latency + 10 + 20 + 40 ms of back-off =
 *       100 ms after it was sent), and the 200 requests of the last 100 ms at least one each: the extra
 *       load during the window is between 2.97 (= (4 * 19,800 + 200) / 20,000 - 1) and 3.0 times the
 *       requests sent in it;</li>
 *   <li><b>one shared token bucket</b> (maxTokens 100, tokenRatio 0.1): over the whole run
 *       {@code retries <= 0.1 * requests + 100 / 2}, the documented bound; and during the window, where
 *       every attempt fails, the bucket (full at 10 s, so 50 tokens above half) funds at most
 *       {@code 50 + 0.1 * (successes completed in the window)} retries, by the javadoc's argument
 *       applied from 10 s on;</li>
 *   <li><b>one shared percent-of-requests budget</b> (10%, ttl 10 s, 10 retries per second): at every
 *       granted retry, the retries granted in its window (its 1 s slice and the nine before) are at most
 *       {@code 0.1 * requests sent in those slices + 10 * 10}.</li>
 * </ul>
 *
 * <p>The figures are printed (System.out), labelled "retry storm". No timing assertions: virtual time only.
 */
class RetryStormSimulationTest {
    private static final int CLIENTS = 200;
    private static final long MS = 1_000_000L;
    private static final long SECOND = 1_000_000_000L;
    private static final long PERIOD = 100 * MS;
    private static final long RUN = 30 * SECOND;
    private static final long WINDOW_START = 10 * SECOND;
    private static final long WINDOW_END = 20 * SECOND;
    private static final int MAX_ATTEMPTS = 4;
    private static final long SEED = 20261121L;

    /** One request: when it was sent and how many attempts it made. */
    static final class Request {
        final long sentAt;
        int attempts;

        Request(long sentAt) {
            this.sentAt = sentAt;
        }
    }

    /** What one run of the simulation saw. */
    static final class Run {
        final List<Request> requests = new ArrayList<>();
        final List<Long> attemptStarts = new ArrayList<>();
        final List<Long> successEnds = new ArrayList<>();
        final List<Long> retryGrants = new ArrayList<>();
        long completed;

        long requestsIn(long from, long to) {
            return requests.stream().filter(r -> r.sentAt >= from && r.sentAt < to).count();
        }

        long attemptsIn(long from, long to) {
            return attemptStarts.stream().filter(t -> t >= from && t < to).count();
        }

        long extraInWindow() {
            return attemptsIn(WINDOW_START, WINDOW_END) - requestsIn(WINDOW_START, WINDOW_END);
        }

        double extraFactor() {
            return extraInWindow() / (double) requestsIn(WINDOW_START, WINDOW_END);
        }

        long retries() {
            return attemptStarts.size() - requests.size();
        }
    }

    private static Run simulate(Function<Ticker, RetryBudget> budgetFactory) {
        ManualScheduler scheduler = new ManualScheduler();
        RetryBudget budget = budgetFactory == null ? null : budgetFactory.apply(scheduler.ticker());
        Run run = new Run();
        SplittableRandom seeds = new SplittableRandom(SEED);
        SplittableRandom latencies = new SplittableRandom(SEED + 1);
        for (int client = 0; client < CLIENTS; client++) {
            Retry.Builder builder = Retry.builder().name("client-" + client).maxAttempts(MAX_ATTEMPTS).scheduler(scheduler)
                    .backoff(Backoff.exponential(Duration.ofMillis(10), Duration.ofMillis(100)).withJitter(Jitter.full())
                            .withRandom(new SplittableRandom(seeds.nextLong())))
                    .listener(event -> {
                        if (event instanceof PolicyEvent.RetryScheduled) {
                            run.retryGrants.add(((PolicyEvent.RetryScheduled) event).nanoTime());
                        }
                    });
            if (budget != null) {
                builder.budget(budget);
            }
            Retry retry = builder.build();
            long offset = seeds.nextLong(PERIOD);
            Runnable[] send = new Runnable[1];
            send[0] = () -> {
                Request request = new Request(scheduler.ticker().read());
                run.requests.add(request);
                retry.<String>callAsync(() -> {
                    long start = scheduler.ticker().read();
                    request.attempts++;
                    run.attemptStarts.add(start);
                    boolean fails = start >= WINDOW_START && start < WINDOW_END;
                    CompletableFuture<String> attempt = new CompletableFuture<>();
                    scheduler.schedule(() -> {
                        if (fails) {
                            attempt.completeExceptionally(new IOException("dependency down"));
                        } else {
                            run.successEnds.add(scheduler.ticker().read());
                            attempt.complete("ok");
                        }
                    }, latencies.nextLong(1 * MS, 10 * MS + 1));
                    return attempt;
                }).whenComplete((value, failure) -> run.completed++);
                if (scheduler.ticker().read() + PERIOD < RUN) {
                    scheduler.schedule(send[0], PERIOD);
                }
            };
            scheduler.schedule(send[0], offset);
        }
        scheduler.advance(Duration.ofNanos(RUN + SECOND)); // runs every task falling due, those scheduled on the way included
        assertEquals(-1, scheduler.nanosUntilNextTask(), "nothing left to run");
        assertEquals(run.requests.size(), run.completed, "every request completed");
        assertEquals(run.retries(), run.retryGrants.size(), "every granted retry started");
        return run;
    }

    @Test
    void budgetsTurnARetryStormIntoABoundedTrickle() {
        Run none = simulate(null);
        Run bucket = simulate(ticker -> RetryBudget.tokenBucket().maxTokens(100).tokenRatio(0.1).build());
        Run percent = simulate(ticker -> RetryBudget.percentOfRequests().percentCanRetry(0.1).ttl(Duration.ofSeconds(10))
                .minRetriesPerSecond(10).ticker(ticker).build());

        long requests = none.requests.size();
        long inWindow = none.requestsIn(WINDOW_START, WINDOW_END);
        System.out.println(String.format(Locale.ROOT,
                "retry storm: requests=%d (%d in the 10-20 s failure window); attempts on the dependency, in all and "
                        + "(per request) in the window: without budget=%d (x%.3f), with token bucket=%d (x%.4f), "
                        + "with percent of requests=%d (x%.4f)",
                requests, inWindow, none.attemptStarts.size(), 1 + none.extraFactor(),
                bucket.attemptStarts.size(), 1 + bucket.extraFactor(), percent.attemptStarts.size(), 1 + percent.extraFactor()));

        // The same traffic in all three runs.
        assertEquals(CLIENTS * (RUN / PERIOD), requests, "each client sends one request per period");
        assertEquals(CLIENTS * ((WINDOW_END - WINDOW_START) / PERIOD), inWindow);
        assertEquals(requests, bucket.requests.size());
        assertEquals(requests, percent.requests.size());

        // No budget: (maxAttempts - 1) extra attempts per request in the window.
        for (Request request : none.requests) {
            boolean wholeRetryInWindow = request.sentAt >= WINDOW_START && request.sentAt < WINDOW_END - PERIOD;
            boolean beforeOrAfter = request.sentAt < WINDOW_START || request.sentAt >= WINDOW_END;
            if (wholeRetryInWindow) {
                assertEquals(MAX_ATTEMPTS, request.attempts, "a request sent at " + request.sentAt + " in the window");
            } else if (beforeOrAfter) {
                assertEquals(1, request.attempts, "a request sent at " + request.sentAt + " outside the window");
            }
        }
        long nearTheEnd = none.requestsIn(WINDOW_END - PERIOD, WINDOW_END);
        assertEquals(CLIENTS, nearTheEnd);
        assertTrue(none.extraInWindow() >= (MAX_ATTEMPTS - 1) * (inWindow - nearTheEnd), "extra " + none.extraInWindow());
        assertTrue(none.extraInWindow() <= (MAX_ATTEMPTS - 1) * inWindow, "extra " + none.extraInWindow());
        assertTrue(none.extraFactor() >= 2.97 && none.extraFactor() <= 3.0, "x" + none.extraFactor());

        // Token bucket: the documented bound over the run, exact in thousandths of a token ...
        assertTrue(1000 * bucket.retries() <= 100 * requests + 1000 * 100 / 2,
                bucket.retries() + " retries > 0.1 * " + requests + " requests + 50");
        // ... and over the window, from a full bucket, funded only by the successes completed in it.
        long grantsInWindow = bucket.retryGrants.stream().filter(t -> t >= WINDOW_START && t < WINDOW_END).count();
        long successesInWindow = bucket.successEnds.stream().filter(t -> t >= WINDOW_START && t < WINDOW_END).count();
        assertTrue(1000 * grantsInWindow <= 50_000 + 100 * successesInWindow,
                grantsInWindow + " retries granted in the window > 50 + 0.1 * " + successesInWindow + " successes");
        assertTrue(bucket.extraInWindow() <= grantsInWindow, "every extra attempt in the window is a retry granted in it");

        // Percent of requests: within every window of ten 1 s slices, retries <= 10% of requests + 10/s * 10 s.
        int slices = (int) (RUN / SECOND) + 2;
        long[] requestsPerSlice = new long[slices];
        for (Request request : percent.requests) {
            requestsPerSlice[(int) (request.sentAt / SECOND)]++;
        }
        long[] grantsPerSlice = new long[slices];
        List<Long> grants = new ArrayList<>(percent.retryGrants);
        grants.sort(null);
        for (long grant : grants) {
            int slice = (int) (grant / SECOND);
            grantsPerSlice[slice]++;
            long windowRequests = 0;
            long windowGrants = 0;
            for (int s = Math.max(0, slice - 9); s <= slice; s++) {
                windowRequests += requestsPerSlice[s];
                windowGrants += grantsPerSlice[s];
            }
            assertTrue(10 * windowGrants <= windowRequests + 10 * 100,
                    windowGrants + " retries in the ttl window ending at " + grant + " > 0.1 * " + windowRequests + " requests + 100");
        }
        assertTrue(percent.extraInWindow() < none.extraInWindow() / 10, "the percent budget cuts the storm");
    }
}
