package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.testing.ModuleSurface;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;



/**
 * Core exports exactly its public packages, and {@code internal} only to Vigil's feature modules by
 * name; implementation classes in exported packages stay package-private.
 */
class ModuleExportsTest {

    @Test
    void exportsExactlyThePublicPackages() throws Exception {
        ModuleSurface surface = ModuleSurface.of(Policy.class);
        surface.assertExports("dev.vigil.core",
                Set.of("dev.vigil.core", "dev.vigil.core.time", "dev.vigil.core.event", "dev.vigil.core.health", "dev.vigil.core.metrics"),
                Map.of("dev.vigil.core.internal", Set.of("dev.vigil.circuitbreaker", "dev.vigil.bulkhead", "dev.vigil.governor")));
        assertTrue(surface.descriptor().packages().contains("dev.vigil.core.internal"), "internal exists");
    }

    @Test
    void implementationClassesInExportedPackagesAreNotPublic() throws Exception {
        Set<String> expectedPublic = Set.of(
                "AdmissionPolicy", "Attempt", "Backoff", "BulkheadFullException", "CallNotPermittedException", "CheckedFunction", "Classifier",
                "Classifier$Builder", "Deadline", "Failure", "Fallback", "Fallback$Builder", "Hedge", "Hedge$Builder", "Jitter", "LoadShedException",
                "Outcome", "Permits", "Pipeline", "Pipeline$Builder", "Policy", "RateLimitedException", "RejectedException",
                "Retry", "Retry$Builder", "RetryAfterHint", "RetryBudget", "RetryBudget$PercentOfRequestsBuilder",
                "RetryBudget$TokenBucketBuilder", "RetryBudgetExhaustedException", "Timeout", "Timeout$Builder", "TimeoutExceededException", "VigilException");
        assertEquals(new TreeSet<>(expectedPublic), ModuleSurface.of(Policy.class).publicTypes("dev.vigil.core"),
                "the public surface of dev.vigil.core changed");
    }
}
