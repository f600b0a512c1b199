package dev.vigil.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vigil.core.testing.ModuleSurface;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The module exports its one package, and only the policies, their builders and value types are public in it. */
class ModuleExportsTest {

    @Test
    void exportsExactlyThePublicPackage() throws Exception {
        ModuleSurface.of(CircuitBreaker.class).assertExports("dev.vigil.circuitbreaker", Set.of("dev.vigil.circuitbreaker"), Map.of());
    }

    @Test
    void implementationClassesAreNotPublic() throws Exception {
        assertEquals(new TreeSet<>(Set.of("AdaptiveThrottle", "AdaptiveThrottle$Builder", "CircuitBreaker", "CircuitBreaker$Builder",
                        "CircuitBreaker$State", "CircuitBreaker$Stats")),
                ModuleSurface.of(CircuitBreaker.class).publicTypes("dev.vigil.circuitbreaker"),
                "the public surface of dev.vigil.circuitbreaker changed");
    }

    @Test
    void requiresCoreTransitively() throws Exception {
        assertEquals(Set.of("TRANSITIVE"), ModuleSurface.of(CircuitBreaker.class).descriptor().requires().stream()
                .filter(r -> r.name().equals("dev.vigil.core")).flatMap(r -> r.modifiers().stream()).map(Enum::name)
                .collect(java.util.stream.Collectors.toSet()), "users of the breaker see core's types (Policy, Outcome, ...)");
    }
}
