package dev.vigil.core;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The future an asynchronous policy returns: it observes a source stage ({@link #onSourceCompleted}
 * runs when the source completes) and propagates its own cancellation to the source, so cancelling the
 * outermost future of a pipeline cancels the real call and every policy on the way releases what it
 * held. Shared by every asynchronous policy in core.
 *
 * <p>Guarantees every subclass gets: this future always completes once the source does, even if the
 * subclass's handler throws (a classifier or fallback bug completes it exceptionally rather than
 * leaving it pending forever); {@link #onCancelled} runs at most once; the source is dropped once this
 * future completed, so a completed future does not keep the call's graph alive. A subclass may link a
 * new source from its handler or later (a retry's next attempt); the latest linked source is the one
 * cancellation reaches.
 *
 * <p>Thread-safe: {@code source} is a volatile field written before the future is handed out (by
 * {@link #link}) and cleared after the source completes; {@link #cancel} reads it on any thread.
 *
 * @param <T> the result type
 */
abstract class LinkedFuture<T> extends CompletableFuture<T> implements BiConsumer<T, Throwable> {
    private volatile CompletionStage<? extends T> source;

    /** Observes {@code stage}: {@link #onSourceCompleted} runs when it completes. */
    final void link(CompletionStage<? extends T> stage) {
        source = stage;
        stage.whenComplete(this);
    }

    /** The source completed: run the subclass's handler, and never leave this future pending. */
    @Override
    public final void accept(T value, Throwable failure) {
        try {
            onSourceCompleted(value, failure);
        } catch (Throwable handlerFailure) {
            completeExceptionally(handlerFailure);
        } finally {
            if (isDone()) {
                source = null; // done: nothing left to cancel
            } // else the handler linked a next source (a retry) or will: keep it cancellable
        }
    }

    /** Called once per linked source, on the thread that completes it. */
    abstract void onSourceCompleted(T value, Throwable failure);

    /**
     * Cancels this future and, if this call is the one that completed it, runs {@link #onCancelled}
     * and cancels the source. ({@code CompletableFuture.cancel} also answers true for a future that was
     * already cancelled; completing with a {@link CancellationException} says whether this call won.)
     */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        boolean won = completeExceptionally(new CancellationException());
        if (won) {
            onCancelled();
            cancelSource(mayInterruptIfRunning);
        }
        return won || isCancelled();
    }

    /** Called at most once, on the cancelling thread, when this future was cancelled by its consumer. */
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

    /**
     * Starts one attempt of an asynchronous call (of a retry or a hedge) as {@link #start} does, with
     * {@code attempt} and {@code deadline} current on this thread while the supplier runs, so the call
     * reads them with {@link Attempt#current()} and {@link Deadline#current()}.
     *
     * @param deadline the deadline the attempt runs under, or null for none
     */
    static <T> CompletionStage<T> startAttempt(Supplier<? extends CompletionStage<T>> call, Attempt attempt, Deadline deadline) {
        Attempt outerAttempt = Attempt.enter(attempt);
        Deadline outerDeadline = Deadline.enter(deadline);
        try {
            return start(call);
        } finally {
            Deadline.exit(outerDeadline);
            Attempt.exit(outerAttempt);
        }
    }

    /**
     * Starts an asynchronous call and returns its stage, or a failed future if the supplier threw or
     * returned null: never throws, so every asynchronous policy handles a call that could not start
     * the same way as one that failed.
     */
    static <T> CompletionStage<T> start(Supplier<? extends CompletionStage<T>> call) {
        try {
            CompletionStage<T> stage = call.get();
            return stage != null ? stage
                    : CompletableFuture.failedFuture(new IllegalStateException("the asynchronous call returned a null stage"));
        } catch (Throwable failure) {
            return CompletableFuture.failedFuture(failure);
        }
    }
}
