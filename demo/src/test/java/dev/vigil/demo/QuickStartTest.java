package dev.vigil.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class QuickStartTest {

    @Test
    void theQuickStartRetriesTheFlakyCallTimesOutTheSlowOneAndOpensTheBreakerOnTheBrokenOne() throws Exception {
        // /slow holds its request until the service stops (at most 60 s), so the 1 s timeout is what
        // ends it, however slow the machine: the outcome does not depend on timing.
        try (FlakyService service = FlakyService.start(60_000)) {
            List<String> lines = QuickStart.run(service.uri(), Duration.ofSeconds(1));
            assertEquals(List.of(
                    "/fast -> hello from /fast",
                    "/flaky -> hello from /flaky (attempt 2)",
                    "/slow -> (cached catalog)",
                    "/broken -> (cached catalog)",
                    "/broken -> (cached catalog)",
                    "health: DOWN",
                    "fallbacks: 3",
                    "retries: 3",
                    "breaker: OPEN, 2 calls rejected without calling the service"), lines.subList(0, 9));
            // /flaky is retried once and /broken twice; /slow is not retried. /slow and /broken's two
            // 503s are three failures in a row: the breaker opens, rejects /broken's third attempt (not
            // retried: a rejection is not an IOException) and the second /broken outright.
            // The slow call ends by Vigil's timeout or, a moment later, by the HTTP client's own timeout
            // (set from the deadline): which one wins is a race, and either is correct.
            assertTrue(lines.get(9).matches("timeouts: [01]"), lines.get(9));
        }
    }

    @Test
    void theReadmeShowsTheQuickStartExactlyAsItCompilesHere() throws IOException {
        Path source = Path.of("src/main/java/dev/vigil/demo/QuickStart.java");
        Path readme = Path.of("../README.md");
        String code = Files.readString(source);
        String snippet = code.substring(code.indexOf("// --- quick start ---") + "// --- quick start ---".length(),
                code.indexOf("// --- end quick start ---"));
        String normalizedSnippet = normalize(snippet);
        String normalizedReadme = normalize(Files.readString(readme));
        assertTrue(normalizedReadme.contains(normalizedSnippet),
                "README.md must contain the quick start from QuickStart.java verbatim:\n" + normalizedSnippet);
    }

    private static String normalize(String text) {
        return text.lines().map(String::strip).filter(line -> !line.isEmpty()).collect(Collectors.joining("\n"));
    }
}
