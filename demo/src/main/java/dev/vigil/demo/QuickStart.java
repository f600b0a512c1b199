package dev.vigil.demo;

import dev.vigil.circuitbreaker.CircuitBreaker;
import dev.vigil.core.Attempt;
import dev.vigil.core.Backoff;
import dev.vigil.core.Classifier;
import dev.vigil.core.Deadline;
import dev.vigil.core.Fallback;
import dev.vigil.core.Jitter;
import dev.vigil.core.Pipeline;
import dev.vigil.core.Policy;
import dev.vigil.core.Retry;
import dev.vigil.core.RetryBudget;
import dev.vigil.core.Timeout;
import dev.vigil.core.health.HealthReport;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The README's quick start, runnable: a client of a flaky local HTTP service, decorated with a
 * {@link Timeout} (bounding each request, with the remaining time passed to the HTTP client through
 * the {@link Deadline}), a {@link Retry} with a retry budget, a {@link CircuitBreaker} and a {@link Fallback}. Run it with the README's first command.
 */
public final class QuickStart {
    private QuickStart() {}

    /**
     * Starts the flaky service on 127.0.0.1, calls it through Vigil, prints what happened, stops.
     *
     * @param args ignored
     * @throws Exception if the demo itself breaks
     */
    public static void main(String[] args) throws Exception {
        try (FlakyService service = FlakyService.start(3_000)) {
            System.out.println("Vigil quick start: calling a flaky service at " + service.uri());
            // 1 s: the first request of a cold JVM (HTTP client start-up) must not be what times out.
            for (String line : run(service.uri(), Duration.ofSeconds(1))) {
                System.out.println("  " + line);
            }
        }
    }

    /**
     * Calls {@code /fast}, {@code /flaky}, {@code /slow} and {@code /broken} (twice) through a fallback, a
     * retry, a circuit breaker and a timeout.
     *
     * @param base  the service's base URI
     * @param limit the timeout's limit
     * @return one line per call, then the policies' health and counters
     * @throws Exception if a call fails in a way the policies do not handle
     */
    static List<String> run(URI base, Duration limit) throws Exception {
        List<String> lines = new ArrayList<>();
        // --- quick start ---
        HttpClient client = HttpClient.newHttpClient();
        Timeout timeout = Timeout.builder(limit).name("catalog-timeout").build();
        Retry retry = Retry.builder().name("catalog-retry")
                .maxAttempts(3)
                .backoff(Backoff.exponential(Duration.ofMillis(20), Duration.ofMillis(200)).withJitter(Jitter.full()))
                .retryOn(Classifier.builder().failOn(IOException.class).build()) // a 503 (see below), a lost connection
                .abortOn(HttpTimeoutException.class)                             // slow: more of the same won't help
                .budget(RetryBudget.tokenBucket().maxTokens(10).tokenRatio(0.1).build())
                .build();
        CircuitBreaker breaker = CircuitBreaker.builder().name("catalog-breaker")
                .consecutiveFailures(3)                                          // 3 failures in a row open it ...
                .openDuration(Duration.ofSeconds(30))                            // ... for 30 s
                .build();
        Fallback<String> fallback = Fallback.<String>builder().name("catalog-fallback").value("(cached catalog)").build();
        // Types: a Fallback<String> guards calls that return String (checked at run time, not compile time).
        Policy catalog = Pipeline.of(fallback, retry, breaker, timeout); // fallback(retry(breaker(timeout(call))))

        for (String path : List.of("fast", "flaky", "slow", "broken", "broken")) {
            String body = catalog.call(() -> {
                Duration left = Deadline.currentRemainingOr(Duration.ofSeconds(10)); // the timeout's deadline
                HttpRequest request = HttpRequest.newBuilder(base.resolve(path)).timeout(left).build();
                HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() >= 500) {
                    throw new IOException("HTTP " + response.statusCode() + " from /" + path);
                }
                return response.body() + (Attempt.currentNumber() > 1 ? " (attempt " + Attempt.currentNumber() + ")" : "");
            });
            lines.add("/" + path + " -> " + body);
        }
        // --- end quick start ---
        lines.add("health: " + HealthReport.of(catalog).status());
        lines.add("fallbacks: " + fallback.fallbackCount());
        lines.add("retries: " + retry.retryCount());
        lines.add("breaker: " + breaker.state() + ", " + breaker.rejectedCount() + " calls rejected without calling the service");
        lines.add("timeouts: " + timeout.timeoutCount());
        return lines;
    }
}
