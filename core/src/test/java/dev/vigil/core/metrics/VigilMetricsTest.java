package dev.vigil.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.Backoff;
import dev.vigil.core.Fallback;
import dev.vigil.core.Hedge;
import dev.vigil.core.Pipeline;
import dev.vigil.core.Policy;
import dev.vigil.core.Retry;
import dev.vigil.core.RetryBudget;
import dev.vigil.core.Timeout;
import dev.vigil.core.time.ManualScheduler;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class VigilMetricsTest {
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @Test
    void countersReadThePoliciesOwnCountsWhenScraped() throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        Timeout timeout = Timeout.builder(Duration.ofMillis(10)).name("db").scheduler(scheduler).interruptOnTimeout(false).build();
        Fallback<String> fallback = Fallback.<String>builder().name("db-fallback").value("cached").build();
        List<Meter> meters = VigilMetrics.bind(registry, Pipeline.of(fallback, timeout));
        assertEquals(5, meters.size());

        Pipeline pipeline = Pipeline.of(fallback, timeout);
        pipeline.call(() -> "ok");
        pipeline.call(() -> {
            throw new IOException("down");
        });
        pipeline.call(() -> {
            scheduler.advance(Duration.ofMillis(10));
            return "late";
        });

        assertEquals(1.0, count("db", "timeout", "success"));
        assertEquals(1.0, count("db", "timeout", "failure"));
        assertEquals(1.0, count("db", "timeout", "timeout"));
        assertEquals(2.0, count("db-fallback", "fallback", "fallback"));
        assertEquals(0.0, count("db-fallback", "fallback", "failure"));
    }

    @Test
    void worksAsAMeterBinder() {
        VigilMetrics.of(Timeout.of(Duration.ofSeconds(1))).bindTo(registry);
        assertEquals(3, registry.find(MetricsSink.CALLS).tag("kind", "timeout").functionCounters().size());
    }

    @Test
    void refusesMetersThatWouldCollideInsteadOfReportingTheWrongPolicy() {
        Timeout first = Timeout.of(Duration.ofSeconds(1));
        Timeout second = Timeout.of(Duration.ofSeconds(2));
        IllegalArgumentException sameName = assertThrows(IllegalArgumentException.class, () -> VigilMetrics.of(first, second));
        assertEquals("policies[1] and policies[0] are both timeout 'timeout': their meters would collide;"
                + " give each policy a distinct name", sameName.getMessage());
        VigilMetrics.bind(registry, first);
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> VigilMetrics.bind(registry, second));
        assertTrue(twice.getMessage().contains("already registered"), twice.getMessage());
        VigilMetrics.bind(registry, Timeout.builder(Duration.ofSeconds(2)).name("other").build());
    }

    @Test
    void aPolicyInTwoPipelinesIsBoundOnceAndPoliciesWithoutMetersAreLeftOut() {
        Timeout shared = Timeout.of(Duration.ofSeconds(1));
        Policy meterless = new Policy() { // like a view of another policy: same name and kind, no meters
            @Override
            public String name() {
                return "timeout";
            }

            @Override
            public String kind() {
                return "timeout";
            }

            @Override
            public <A, T> T execute(dev.vigil.core.CheckedFunction<? super A, ? extends T> action, A argument) throws Exception {
                return action.apply(argument);
            }

            @Override
            public <T> java.util.concurrent.CompletionStage<T> callAsync(
                    java.util.function.Supplier<? extends java.util.concurrent.CompletionStage<T>> call) {
                return call.get();
            }
        };
        List<Meter> meters = VigilMetrics.bind(registry, Pipeline.of(shared), Pipeline.of(meterless, shared), shared);
        assertEquals(3, meters.size(), "the shared timeout's three call counters, once");
        assertEquals(3, registry.find(MetricsSink.CALLS).tag("kind", "timeout").functionCounters().size());
    }

    @Test
    void badInputIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> VigilMetrics.of());
        assertThrows(IllegalArgumentException.class, () -> VigilMetrics.bind(null, Timeout.of(Duration.ofSeconds(1))));
        assertThrows(IllegalArgumentException.class, () -> VigilMetrics.of(Timeout.of(Duration.ofSeconds(1)), null));
    }

    @Test
    void retriesAndHedgesBindTheirCountersAndTheHedgeDelayGauge() throws Exception {
        ManualScheduler scheduler = new ManualScheduler();
        Retry retry = Retry.builder().name("orders").scheduler(scheduler).backoff(Backoff.none()).build();
        Hedge hedge = Hedge.builder().name("orders-hedge").idempotent(true).delay(Duration.ofMillis(20)).scheduler(scheduler)
                .budget(RetryBudget.tokenBucket().maxTokens(10).build()).build();
        List<Meter> meters = VigilMetrics.bind(registry, retry, hedge);
        assertEquals(5 + 4 + 2, meters.size(), "a policy with a budget reports it too");
        assertEquals(5.0, registry.find("vigil.retry.budget.available").tags("name", "orders-hedge").gauge().value());
        int[] calls = {0};
        retry.call(() -> {
            if (++calls[0] == 1) {
                throw new IOException("once");
            }
            return "ok";
        });
        assertEquals(1.0, count("orders", "retry", "success_after_retry"));
        assertEquals(0.0, count("orders", "retry", "exhausted"));
        assertEquals(1.0, registry.find("vigil.retries").tags("name", "orders").functionCounter().count());
        assertEquals(0.02, registry.find("vigil.hedge.delay").tags("name", "orders-hedge").gauge().value(), 1e-9);
    }

    private double count(String name, String kind, String outcome) {
        FunctionCounter counter = registry.find(MetricsSink.CALLS)
                .tags("name", name, "kind", kind, "outcome", outcome).functionCounter();
        if (counter == null) {
            throw new AssertionError("no counter " + name + "/" + kind + "/" + outcome);
        }
        return counter.count();
    }
}
