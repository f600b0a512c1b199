package dev.vigil.core;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vigil.core.time.ManualScheduler;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.Options;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Validate;
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions;
import org.jetbrains.kotlinx.lincheck.strategy.stress.StressOptions;
import org.junit.jupiter.api.Test;

/**
 * Lincheck explores the interleavings of the three things that can end an asynchronous call through
 * a pipeline of an admission policy around a timeout: the call completing (or failing), the consumer
 * cancelling, and the deadline firing. Whatever the interleaving, the admission permit ends exactly
 * once, exactly one of the timeout's outcomes is counted, and no timer is left behind.
 *
 * <p>The operations return nothing on purpose: completing a source and completing the future that
 * observes it are two steps, so their return values are not linearizable with respect to each other
 * (and need not be); the contract checked is the invariant in {@link #everythingEndsExactlyOnce()}.
 */
public class AsyncExactlyOnceLincheckTest {
    private final ManualScheduler scheduler = new ManualScheduler();
    private final CountingAdmission admission = new CountingAdmission("counting");
    private final Timeout timeout = Timeout.builder(Duration.ofSeconds(1)).scheduler(scheduler).build();
    private final CompletableFuture<String> source = new CompletableFuture<>();
    private final CompletableFuture<String> result =
            Pipeline.of(admission, timeout).callAsync(() -> source).toCompletableFuture();

    /** Lincheck creates one instance per explored execution: a fresh call through a fresh pipeline. */
    public AsyncExactlyOnceLincheckTest() {
        // state is initialised by the field initialisers above
    }

    /** The call succeeds. */
    @Operation
    public void succeed() {
        source.complete("ok");
    }

    /** The call fails. */
    @Operation
    public void fail() {
        source.completeExceptionally(new IOException("down"));
    }

    /** The consumer cancels. */
    @Operation
    public void cancel() {
        result.cancel(true);
    }

    /** The deadline passes. */
    @Operation
    public void deadline() {
        scheduler.advance(Duration.ofSeconds(1));
    }

    /** Checked after every explored execution. */
    @Validate
    public void everythingEndsExactlyOnce() {
        int ended = admission.completed.get() + admission.released.get();
        long counted = timeout.successCount() + timeout.failureCount() + timeout.timeoutCount();
        if (result.isDone()) {
            if (ended != 1) {
                throw new AssertionError("permit ended " + ended + " times");
            }
            if (counted > 1) {
                throw new AssertionError("timeout counted " + counted + " outcomes");
            }
            if (scheduler.pendingTasks() != 0) {
                throw new AssertionError("a timer outlived the call");
            }
        } else if (ended != 0) {
            throw new AssertionError("permit ended while the call is still pending");
        }
    }

    @Test
    void modelChecking() {
        // Lincheck's model checker rewrites JDK classes too, and its bytecode library reads class files
        // up to Java 21 only (on 25 it cannot instrument java.base and the run hangs). The JDK 17 pass
        // of CI runs it; the stress strategy below runs on every JDK.
        assumeTrue(Runtime.version().feature() <= 21,
                "Lincheck model checking supports class files up to Java 21; it runs in the JDK 17 pass");
        LinChecker.check(AsyncExactlyOnceLincheckTest.class, bounded(new ModelCheckingOptions().invocationsPerIteration(500)));
    }

    @Test
    void stress() {
        LinChecker.check(AsyncExactlyOnceLincheckTest.class, bounded(new StressOptions().invocationsPerIteration(500)));
    }

    /** The same small, fast scenario space for both strategies (about ten seconds in all on 2 cores). */
    private static <O extends Options<O, ?>> O bounded(O options) {
        return options.iterations(30)
                .threads(3)
                .actorsPerThread(2)
                .actorsBefore(0)
                .actorsAfter(1);
    }
}
