package dev.vigil.bulkhead;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vigil.core.testing.ModuleSurface;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The module exports its one package, in which only the policies, their builders, the criticality
 * levels and the limit algorithms (with the interface's nested types) are public; the permit pool,
 * stripes, wait queue, sample window, limiter views and the shared bounds base class stay
 * package-private. (Whether each public type's javadoc states its thread-safety is not checked here:
 * tests see compiled classes only, and the project has no pattern for reading sources.)
 */
class ModuleExportsTest {

    @Test
    void exportsExactlyThePublicPackage() throws Exception {
        ModuleSurface.of(Bulkhead.class).assertExports("dev.vigil.bulkhead", Set.of("dev.vigil.bulkhead"), Map.of());
    }

    @Test
    void implementationClassesAreNotPublic() throws Exception {
        assertEquals(new TreeSet<>(Set.of(
                        "Bulkhead", "Bulkhead$Builder",
                        "AdaptiveLimiter", "AdaptiveLimiter$Builder",
                        "Criticality",
                        "LimitAlgorithm", "LimitAlgorithm$Estimator", "LimitAlgorithm$Window",
                        "AimdLimit", "AimdLimit$Builder",
                        "VegasLimit", "VegasLimit$Builder",
                        "Gradient2Limit", "Gradient2Limit$Builder")),
                ModuleSurface.of(Bulkhead.class).publicTypes("dev.vigil.bulkhead"),
                "the public surface of dev.vigil.bulkhead changed");
    }

    @Test
    void requiresCoreTransitively() throws Exception {
        assertEquals(Set.of("TRANSITIVE"), ModuleSurface.of(Bulkhead.class).descriptor().requires().stream()
                .filter(r -> r.name().equals("dev.vigil.core")).flatMap(r -> r.modifiers().stream()).map(Enum::name)
                .collect(Collectors.toSet()), "users of the bulkhead and the limiter see core's types (AdmissionPolicy, Outcome, ...)");
    }
}
