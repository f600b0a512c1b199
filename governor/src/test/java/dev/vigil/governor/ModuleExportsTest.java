package dev.vigil.governor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vigil.core.testing.ModuleSurface;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The module exports its one package, in which only the limiters, the governor, their builders and
 * the governor's value types are public; the GCRA mechanism and the limit specifications stay
 * package-private.
 */
class ModuleExportsTest {

    @Test
    void exportsExactlyThePublicPackage() throws Exception {
        ModuleSurface.of(RateLimiter.class).assertExports("dev.vigil.governor", Set.of("dev.vigil.governor"), Map.of());
    }

    @Test
    void implementationClassesAreNotPublic() throws Exception {
        assertEquals(new TreeSet<>(Set.of(
                        "RateLimiter", "RateLimiter$Builder",
                        "KeyedRateLimiter", "KeyedRateLimiter$Builder",
                        "Governor", "Governor$Builder", "Governor$UnsafeRules",
                        "Decision", "Decision$Verdict", "ActionRequest", "AuditRecord", "AuditRecord$Kind",
                        "ResponseCurve", "Direction")),
                ModuleSurface.of(RateLimiter.class).publicTypes("dev.vigil.governor"),
                "the public surface of dev.vigil.governor changed");
    }

    @Test
    void requiresCoreTransitively() throws Exception {
        assertEquals(Set.of("TRANSITIVE"), ModuleSurface.of(RateLimiter.class).descriptor().requires().stream()
                .filter(r -> r.name().equals("dev.vigil.core")).flatMap(r -> r.modifiers().stream()).map(Enum::name)
                .collect(Collectors.toSet()), "users of the limiters see core's types (AdmissionPolicy, RateLimitedException, ...)");
    }
}
