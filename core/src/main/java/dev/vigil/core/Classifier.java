package dev.vigil.core;

import dev.vigil.core.internal.Checks;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Decides whether a completed call is a {@link Outcome#SUCCESS}, a {@link Outcome#FAILURE} or
 * {@link Outcome#IGNORED}, from its result or the exception it threw. One classifier type serves every
 * policy: a breaker counts failures, a retry retries them, a fallback replaces them.
 *
 * <p>Implementations must be thread-safe, fast and allocation-free: they run on every call. A
 * classifier that throws is a bug; Vigil then releases the call's permits without counting the call
 * and propagates the classifier's exception (with the call's own exception suppressed in it).
 *
 * <pre>{@code
 * Classifier classifier = Classifier.builder()
 *     .failOn(IOException.class, TimeoutExceededException.class)   // matches causes too
 *     .ignore(IllegalArgumentException.class)
 *     .failOnResult(HttpResponse.class, r -> r.statusCode() >= 500)
 *     .build();
 * }</pre>
 */
@FunctionalInterface
public interface Classifier {

    /**
     * Classifies one completed call.
     *
     * @param result  the call's result (may be null); meaningless when {@code failure} is non-null
     * @param failure the exception the call threw, or null if it returned normally
     * @return the outcome, never null
     */
    Outcome classify(Object result, Throwable failure);

    /**
     * The default: every exception (and error) is a {@link Outcome#FAILURE}, every result a
     * {@link Outcome#SUCCESS}.
     *
     * @return the shared default classifier
     */
    static Classifier defaults() {
        return RuleClassifier.DEFAULTS;
    }

    /**
     * Starts a rule-based classifier.
     *
     * @return a new builder
     */
    static Builder builder() {
        return new Builder();
    }

    /**
     * Builds a rule-based {@link Classifier}. Rules for exceptions, in order of precedence:
     * <ol>
     *   <li>an exception matching an {@code ignore} rule is {@link Outcome#IGNORED};</li>
     *   <li>an exception matching a {@code failOn} rule is a {@link Outcome#FAILURE};</li>
     *   <li>any other exception is a {@link Outcome#FAILURE} if no {@code failOn} rule was given, and a
     *       {@link Outcome#SUCCESS} if some were (only the listed failures count, as in resilience4j's
     *       {@code recordExceptions}).</li>
     * </ol>
     * Type rules match the exception or any exception in its cause chain (so a
     * {@code CompletionException} wrapping an {@code IOException} matches {@code IOException}).
     * For results: an {@code ignoreResult} match is IGNORED, a {@code failOnResult} match is a FAILURE,
     * anything else a SUCCESS.
     *
     * <p>Not thread-safe; the built classifier is immutable and thread-safe.
     */
    final class Builder {
        final List<Class<? extends Throwable>> failTypes = new ArrayList<>();
        final List<Predicate<? super Throwable>> failPredicates = new ArrayList<>();
        final List<Class<? extends Throwable>> ignoreTypes = new ArrayList<>();
        final List<Predicate<? super Throwable>> ignorePredicates = new ArrayList<>();
        final List<Predicate<Object>> failResults = new ArrayList<>();
        final List<Predicate<Object>> ignoreResults = new ArrayList<>();

        Builder() {}

        /**
         * Counts exceptions of these types (or caused by them) as failures.
         *
         * @param types exception types, at least one
         * @return this builder
         * @throws IllegalArgumentException if the array is null or empty, or an element is null
         */
        @SafeVarargs
        @SuppressWarnings("varargs")
        public final Builder failOn(Class<? extends Throwable>... types) {
            failTypes.addAll(List.of(nonEmpty(types)));
            return this;
        }

        /**
         * Counts exceptions matching {@code predicate} as failures.
         *
         * @param predicate tested on the thrown exception (not its causes); must not throw
         * @return this builder
         * @throws IllegalArgumentException if {@code predicate} is null
         */
        public Builder failOnException(Predicate<? super Throwable> predicate) {
            failPredicates.add(Checks.notNull(predicate, "predicate"));
            return this;
        }

        /**
         * Ignores exceptions of these types (or caused by them): neither success nor failure.
         *
         * @param types exception types, at least one
         * @return this builder
         * @throws IllegalArgumentException if the array is null or empty, or an element is null
         */
        @SafeVarargs
        @SuppressWarnings("varargs")
        public final Builder ignore(Class<? extends Throwable>... types) {
            ignoreTypes.addAll(List.of(nonEmpty(types)));
            return this;
        }

        /**
         * Ignores exceptions matching {@code predicate}.
         *
         * @param predicate tested on the thrown exception; must not throw
         * @return this builder
         * @throws IllegalArgumentException if {@code predicate} is null
         */
        public Builder ignoreException(Predicate<? super Throwable> predicate) {
            ignorePredicates.add(Checks.notNull(predicate, "predicate"));
            return this;
        }

        /**
         * Counts results of type {@code type} that match {@code predicate} as failures (an HTTP 503,
         * say). Results of other types never match.
         *
         * @param type      the result type
         * @param predicate tested on matching results; must not throw
         * @param <R>       the result type
         * @return this builder
         * @throws IllegalArgumentException if an argument is null
         */
        public <R> Builder failOnResult(Class<R> type, Predicate<? super R> predicate) {
            failResults.add(typed(Checks.notNull(type, "type"), Checks.notNull(predicate, "predicate")));
            return this;
        }

        /**
         * Ignores results of type {@code type} that match {@code predicate} (an HTTP 404, say).
         *
         * @param type      the result type
         * @param predicate tested on matching results; must not throw
         * @param <R>       the result type
         * @return this builder
         * @throws IllegalArgumentException if an argument is null
         */
        public <R> Builder ignoreResult(Class<R> type, Predicate<? super R> predicate) {
            ignoreResults.add(typed(Checks.notNull(type, "type"), Checks.notNull(predicate, "predicate")));
            return this;
        }

        private static Class<? extends Throwable>[] nonEmpty(Class<? extends Throwable>[] types) {
            Checks.noNullElements(types, "types");
            if (types.length == 0) {
                throw new IllegalArgumentException("types must not be empty: name at least one exception type");
            }
            return types;
        }

        private static <R> Predicate<Object> typed(Class<R> type, Predicate<? super R> predicate) {
            return result -> type.isInstance(result) && predicate.test(type.cast(result));
        }

        /** @return an immutable classifier with the rules given so far */
        public Classifier build() {
            return new RuleClassifier(this);
        }
    }
}
