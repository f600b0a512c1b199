package dev.vigil.core;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.function.BiConsumer;

/**
 * The future an asynchronous policy returns: it observes a source stage ({@link #accept} is called
 * when the source completes) and propagates its own cancellation to the source, so cancelling the
 * outermost future of a pipeline cancels the real call and every policy on the way releases what it
 * held. Shared by every asynchronous policy in core.
 *
 * <p>Thread-safe: {@code source} is written once before the future is handed out (safely published by
 * the {@code whenComplete} registration and by returning the future) and read by {@link #cancel} on
 * any thread through a volatile read.
 *
 * @param <T> the result type
 */
abstract class LinkedFuture<T> extends CompletableFuture<T> implements BiConsumer<T, Throwable> {
    private volatile CompletionStage<? extends T> source;

    /** Observes {@code stage}: {@link #accept} runs when it completes. */
    final void link(CompletionStage<? extends T> stage) {
        source = stage;
        stage.whenComplete(this);
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        if (cancelled) {
            onCancelled();
            cancelSource(mayInterruptIfRunning);
        }
        return cancelled;
    }

    /** Called once, on the cancelling thread, when this future was cancelled by its consumer. */
    void onCancelled() {}

    final void cancelSource(boolean mayInterruptIfRunning) {
        cancelQuietly(source, mayInterruptIfRunning);
    }

    static void cancelQuietly(CompletionStage<?> stage, boolean mayInterruptIfRunning) {
        if (stage == null) {
            return;
        }
        try {
            stage.toCompletableFuture().cancel(mayInterruptIfRunning);
        } catch (UnsupportedOperationException notCancellable) {
            // Some CompletionStage implementations cannot be converted; nothing to cancel then.
        }
    }

    /** Strips the wrappers {@link CompletableFuture} adds, to classify the real failure. */
    static Throwable unwrap(Throwable failure) {
        Throwable current = failure;
        while ((current instanceof CompletionException || current instanceof ExecutionException)
                && current.getCause() != null) {
            current = current.getCause();
        }
        return current;
    }

    static <T> CompletableFuture<T> failed(Throwable failure) {
        CompletableFuture<T> future = new CompletableFuture<>();
        future.completeExceptionally(failure);
        return future;
    }
}
