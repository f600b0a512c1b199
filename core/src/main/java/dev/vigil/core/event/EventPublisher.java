package dev.vigil.core.event;

import dev.vigil.core.internal.Checks;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An immutable set of listeners that a policy publishes to. Policies check {@link #isEnabled()}
 * before they build an event, so a policy with no listener allocates nothing for events.
 *
 * <p>Thread-safe and immutable. {@link #publish} never throws: a listener's exception is logged at
 * WARN through slf4j and the next listener still runs.
 */
public final class EventPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(EventPublisher.class);
    private static final EventPublisher NONE = new EventPublisher(new PolicyEventListener[0]);

    private final PolicyEventListener[] listeners;

    private EventPublisher(PolicyEventListener[] listeners) {
        this.listeners = listeners;
    }

    /**
     * Returns a publisher over a copy of {@code listeners}.
     *
     * @param listeners the listeners, in calling order
     * @return a publisher; the shared empty one if {@code listeners} is empty
     * @throws IllegalArgumentException if the list or any element is null
     */
    public static EventPublisher of(List<? extends PolicyEventListener> listeners) {
        Checks.notNull(listeners, "listeners");
        if (listeners.isEmpty()) {
            return NONE;
        }
        PolicyEventListener[] copy = listeners.toArray(new PolicyEventListener[0]);
        Checks.noNullElements(copy, "listeners");
        return new EventPublisher(copy);
    }

    /** @return the publisher with no listeners */
    public static EventPublisher none() {
        return NONE;
    }

    /** @return true if at least one listener is registered */
    public boolean isEnabled() {
        return listeners.length != 0;
    }

    /**
     * Delivers {@code event} to every listener in order. Never throws (except a
     * {@link VirtualMachineError}).
     *
     * @param event the event
     */
    public void publish(PolicyEvent event) {
        for (PolicyEventListener listener : listeners) {
            try {
                listener.onEvent(event);
            } catch (VirtualMachineError fatal) {
                throw fatal;
            } catch (Throwable failure) {
                LOG.warn("Event listener {} threw on {}; ignored", listener, event, failure);
            }
        }
    }

    @Override
    public String toString() {
        return "EventPublisher[" + listeners.length + " listeners]";
    }
}
