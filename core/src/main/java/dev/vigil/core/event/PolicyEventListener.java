package dev.vigil.core.event;

/**
 * Receives a policy's events. Registered on a policy's builder; called synchronously on the thread
 * where the event happened (a caller's thread, or the scheduler's thread for timeouts), so it must be
 * quick and must not block. It may be called concurrently from many threads and must be thread-safe.
 * An exception it throws is logged and ignored: a listener never breaks a call.
 */
@FunctionalInterface
public interface PolicyEventListener {

    /**
     * Called once per event.
     *
     * @param event the event, never null
     */
    void onEvent(PolicyEvent event);
}
