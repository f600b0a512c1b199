package dev.vigil.demo;

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
 * the {@link Deadline}), a {@link Retry} with a retry budget, and a {@link Fallback}. Run it with the README's first command.
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
        try (FlakyService service = FlakyService.start(2_000)) {
            System.out.println("Vigil quick start: calling a flaky service at " + service.uri());
            for (String line : run(service.uri(), Duration.ofMillis(250))) {
                System.out.println("  " + line);
            }
        }
    }

    /**
     * Calls {@code /fast}, {@code /flaky}, {@code /slow} and {@code /broken} through a fallback, a retry
     * and a timeout.
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
        Fallback<String> fallback = Fallback.<String>builder().name("catalog-fallback").value("(cached catalog)").build();
        // Types: a Fallback<String> guards calls that return String (checked at run time, not compile time).
        Policy catalog = Pipeline.of(fallback, retry, timeout); // fallback(retry(timeout(call)))

        for (String path : List.of("fast", "flaky", "slow", "broken")) {
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
        lines.add("timeouts: " + timeout.timeoutCount());
        return lines;
    }
}
