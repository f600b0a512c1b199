package dev.vigil.core.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vigil.core.CheckedFunction;
import dev.vigil.core.Pipeline;
import dev.vigil.core.Policy;
import dev.vigil.core.Timeout;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class HealthReportTest {

    @Test
    void theOverallStatusIsTheWorstComponentAndEachComponentIsListedByName() {
        FixedHealth payments = new FixedHealth("payments", Health.down("circuit open"));
        FixedHealth search = new FixedHealth("search", Health.degraded("shedding 20%"));
        Timeout timeout = Timeout.of(Duration.ofSeconds(1));
        HealthReport report = HealthReport.of(Pipeline.of(timeout, payments), search);
        assertEquals(Health.Status.DOWN, report.status());
        assertEquals(List.of("timeout", "payments", "search"), List.copyOf(report.components().keySet()));
        assertEquals(Health.down("circuit open"), report.components().get("payments"));
        assertEquals(List.of("payments"), report.down());
    }

    @Test
    void optionalComponentsContributeAtMostDegraded() {
        FixedHealth recommendations = new FixedHealth("recommendations", Health.down("open"));
        FixedHealth payments = new FixedHealth("payments", Health.up());
        HealthReport.Checker checker = HealthReport.builder().required(payments).optional(recommendations).build();
        assertEquals(Health.Status.DEGRADED, checker.check().status());
        payments.health = Health.down("open");
        assertEquals(Health.Status.DOWN, checker.check().status(), "each check is fresh");
    }

    @Test
    void duplicateNamesAreKeptApart() {
        HealthReport report = HealthReport.of(new FixedHealth("db", Health.up()), new FixedHealth("db", Health.down("x")));
        assertEquals(List.of("db", "db#2"), List.copyOf(report.components().keySet()));
        assertEquals(Health.Status.DOWN, report.status());
    }

    @Test
    void badInputIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> HealthReport.builder().build());
        FixedHealth twice = new FixedHealth("twice", Health.up());
        assertThrows(IllegalArgumentException.class, () -> HealthReport.builder().required(twice).optional(twice));
        assertThrows(IllegalArgumentException.class, () -> HealthReport.of((Policy) null));
        assertThrows(IllegalArgumentException.class, () -> new Health(null, ""));
        assertThrows(IllegalArgumentException.class, () -> Health.down(null));
        assertThrows(UnsupportedOperationException.class,
                () -> HealthReport.of(new FixedHealth("a", Health.up())).components().clear());
    }

    @Test
    void statusOrderIsUpDegradedDown() {
        assertEquals(Health.Status.DOWN, Health.Status.UP.worst(Health.Status.DOWN));
        assertEquals(Health.Status.DEGRADED, Health.Status.DEGRADED.worst(Health.Status.UP));
    }

    /** A policy whose health the test sets. */
    static final class FixedHealth implements Policy {
        private final String name;
        volatile Health health;

        FixedHealth(String name, Health health) {
            this.name = name;
            this.health = health;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String kind() {
            return "fixed";
        }

        @Override
        public Health health() {
            return health;
        }

        @Override
        public <A, T> T execute(CheckedFunction<? super A, ? extends T> action, A argument) throws Exception {
            return action.apply(argument);
        }

        @Override
        public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> call) {
            return call.get();
        }
    }
}
