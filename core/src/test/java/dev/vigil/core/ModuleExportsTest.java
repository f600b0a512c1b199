package dev.vigil.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Tests run on the class path, so this test reads the compiled module descriptor and checks that the
 * module exports exactly its public packages: every package except {@code internal} ones, each of
 * which holds public types and a package-info.
 */
class ModuleExportsTest {

    @Test
    void exportsExactlyThePublicPackages() throws Exception {
        Path classes = classesRoot();
        ModuleDescriptor descriptor;
        Set<String> packagesWithClasses = packagesIn(classes);
        try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
            descriptor = ModuleDescriptor.read(in, () -> packagesWithClasses);
        }
        assertEquals("dev.vigil.core", descriptor.name());
        Set<String> exported = descriptor.exports().stream()
                .peek(e -> assertFalse(e.isQualified(), "unexpected qualified export " + e))
                .map(ModuleDescriptor.Exports::source)
                .collect(Collectors.toCollection(TreeSet::new));
        Set<String> publicPackages = new TreeSet<>(descriptor.packages());
        publicPackages.removeIf(p -> p.endsWith(".internal") || p.contains(".internal."));
        assertEquals(publicPackages, exported);
        assertEquals(Set.of("dev.vigil.core", "dev.vigil.core.time", "dev.vigil.core.event", "dev.vigil.core.health",
                "dev.vigil.core.metrics"), exported);
        assertTrue(descriptor.packages().contains("dev.vigil.core.internal"), "internal exists and is not exported");
        for (String pkg : exported) {
            assertTrue(Files.exists(classes.resolve(pkg.replace('.', '/')).resolve("package-info.class")),
                    pkg + " has a package-info");
        }
    }

    @Test
    void implementationClassesInExportedPackagesAreNotPublic() throws Exception {
        Path classes = classesRoot();
        Set<String> expectedPublic = Set.of(
                "AdmissionPolicy", "Attempt", "Backoff", "BulkheadFullException", "CallNotPermittedException", "CheckedFunction", "Classifier",
                "Classifier$Builder", "Deadline", "Failure", "Fallback", "Fallback$Builder", "Hedge", "Hedge$Builder", "Jitter", "LoadShedException",
                "Outcome", "Permits", "Pipeline", "Pipeline$Builder", "Policy", "RateLimitedException", "RejectedException",
                "Retry", "Retry$Builder", "RetryAfterHint", "RetryBudget", "RetryBudget$PercentOfRequestsBuilder",
                "RetryBudget$TokenBucketBuilder", "RetryBudgetExhaustedException", "Timeout", "Timeout$Builder", "TimeoutExceededException", "VigilException");
        Set<String> actualPublic = new TreeSet<>();
        try (Stream<Path> files = Files.list(classes.resolve("dev/vigil/core"))) {
            for (Path file : (Iterable<Path>) files::iterator) {
                String fileName = file.getFileName().toString();
                if (!fileName.endsWith(".class") || fileName.equals("package-info.class")) {
                    continue;
                }
                String simple = fileName.substring(0, fileName.length() - ".class".length());
                Class<?> type = Class.forName("dev.vigil.core." + simple, false, getClass().getClassLoader());
                if (Modifier.isPublic(type.getModifiers()) && !type.isAnonymousClass()) {
                    actualPublic.add(simple);
                }
            }
        }
        assertEquals(new TreeSet<>(expectedPublic), actualPublic, "the public surface of dev.vigil.core changed");
    }

    private static Set<String> packagesIn(Path classes) throws IOException {
        try (Stream<Path> files = Files.walk(classes)) {
            return files.filter(f -> f.toString().endsWith(".class") && !f.getFileName().toString().equals("module-info.class"))
                    .map(f -> classes.relativize(f.getParent()).toString().replace(java.io.File.separatorChar, '.'))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static Path classesRoot() throws URISyntaxException, IOException {
        Path root = Path.of(Policy.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertTrue(Files.isDirectory(root), "expected compiled classes in a directory: " + root);
        return root;
    }
}
