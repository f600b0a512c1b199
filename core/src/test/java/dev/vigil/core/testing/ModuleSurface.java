package dev.vigil.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Checks a module's public surface, for every module's tests (through core's test jar). Tests run on
 * the class path, so this reads the compiled module descriptor next to a module's classes: a module
 * must export exactly its packages that are not {@code internal} (each with a package-info), export
 * {@code internal} packages only to named sibling modules, and keep implementation classes
 * package-private.
 */
public final class ModuleSurface {
    private final Path classes;
    private final ModuleDescriptor descriptor;

    private ModuleSurface(Path classes, ModuleDescriptor descriptor) {
        this.classes = classes;
        this.descriptor = descriptor;
    }

    /**
     * @param anyClass a class compiled into the module's classes directory
     * @return the surface of that module
     * @throws Exception if the classes or the descriptor cannot be read
     */
    public static ModuleSurface of(Class<?> anyClass) throws Exception {
        Path classes = classesRoot(anyClass);
        Set<String> packages = packagesIn(classes);
        try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
            return new ModuleSurface(classes, ModuleDescriptor.read(in, () -> packages));
        }
    }

    /** @return the module's descriptor */
    public ModuleDescriptor descriptor() {
        return descriptor;
    }

    /**
     * Asserts the module's name, that it exports exactly {@code exported} to everyone (each with a
     * package-info), that every other package is an {@code internal} one, and that qualified exports are
     * exactly {@code qualified} (package to the sorted set of module names).
     *
     * @param name      the expected module name
     * @param exported  the packages exported to everyone
     * @param qualified the qualified exports
     * @throws Exception if a file cannot be read
     */
    public void assertExports(String name, Set<String> exported, Map<String, Set<String>> qualified) throws Exception {
        assertEquals(name, descriptor.name());
        Set<String> unqualified = new TreeSet<>();
        Map<String, Set<String>> actualQualified = new TreeMap<>();
        for (ModuleDescriptor.Exports export : descriptor.exports()) {
            if (export.isQualified()) {
                actualQualified.put(export.source(), new TreeSet<>(export.targets()));
            } else {
                unqualified.add(export.source());
            }
        }
        assertEquals(new TreeSet<>(exported), unqualified, "packages exported to everyone");
        Map<String, Set<String>> expectedQualified = new TreeMap<>();
        qualified.forEach((pkg, targets) -> expectedQualified.put(pkg, new TreeSet<>(targets)));
        assertEquals(expectedQualified, actualQualified, "qualified exports");
        for (String pkg : actualQualified.keySet()) {
            assertTrue(pkg.endsWith(".internal"), "only internal packages are exported by name: " + pkg);
        }
        Set<String> publicPackages = new TreeSet<>(descriptor.packages());
        publicPackages.removeIf(p -> p.endsWith(".internal") || p.contains(".internal."));
        assertEquals(publicPackages, unqualified, "every non-internal package is exported");
        for (String pkg : unqualified) {
            assertTrue(Files.exists(classes.resolve(pkg.replace('.', '/')).resolve("package-info.class")), pkg + " has a package-info");
        }
    }

    /**
     * @param pkg an exported package
     * @return the simple (binary) names of the public classes directly in it, nested ones as {@code Outer$Inner}
     * @throws Exception if a class cannot be loaded
     */
    public Set<String> publicTypes(String pkg) throws Exception {
        Set<String> result = new TreeSet<>();
        try (Stream<Path> files = Files.list(classes.resolve(pkg.replace('.', '/')))) {
            for (Path file : (Iterable<Path>) files::iterator) {
                String fileName = file.getFileName().toString();
                if (!fileName.endsWith(".class") || fileName.equals("package-info.class")) {
                    continue;
                }
                String simple = fileName.substring(0, fileName.length() - ".class".length());
                Class<?> type = Class.forName(pkg + "." + simple, false, ModuleSurface.class.getClassLoader());
                if (Modifier.isPublic(type.getModifiers()) && !type.isAnonymousClass()) {
                    result.add(simple);
                }
            }
        }
        return result;
    }

    private static Set<String> packagesIn(Path classes) throws IOException {
        try (Stream<Path> files = Files.walk(classes)) {
            return files.filter(f -> f.toString().endsWith(".class") && !f.getFileName().toString().equals("module-info.class"))
                    .map(f -> classes.relativize(f.getParent()).toString().replace(java.io.File.separatorChar, '.'))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static Path classesRoot(Class<?> anyClass) throws URISyntaxException {
        Path root = Path.of(anyClass.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertTrue(Files.isDirectory(root), "expected compiled classes in a directory: " + root);
        return root;
    }
}
