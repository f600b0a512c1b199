package dev.vigil.core.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Virtual threads for the stress tests of every module, which compile for release 17: a test that
 * needs them calls {@link #executor()}, which skips it (an assumption, with the reason) below JDK 21.
 * CI runs the suite on JDK 25 too, where these tests run.
 */
public final class VirtualThreads {
    private VirtualThreads() {}

    /**
     * @return {@code Executors.newVirtualThreadPerTaskExecutor()}, called by reflection
     * @throws ReflectiveOperationException if the JDK has the feature version but not the method
     */
    public static ExecutorService executor() throws ReflectiveOperationException {
        assumeTrue(Runtime.version().feature() >= 21, "virtual threads need JDK 21+ (CI runs this on JDK 25)");
        return (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
    }
}
