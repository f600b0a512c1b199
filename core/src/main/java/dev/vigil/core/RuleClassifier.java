package dev.vigil.core;

import java.util.function.Predicate;

/**
 * The classifier {@link Classifier.Builder} builds: rules copied into arrays so that classification
 * is a few array scans, with no iterator and no allocation. Immutable and thread-safe.
 */
final class RuleClassifier implements Classifier {
    static final RuleClassifier DEFAULTS = new RuleClassifier(new Classifier.Builder());

    /** Cause chains longer than this are not followed (guards against cycles and pathological chains). */
    private static final int MAX_CAUSE_DEPTH = 16;

    private final Class<?>[] failTypes;
    private final Predicate<? super Throwable>[] failPredicates;
    private final Class<?>[] ignoreTypes;
    private final Predicate<? super Throwable>[] ignorePredicates;
    private final Predicate<Object>[] failResults;
    private final Predicate<Object>[] ignoreResults;
    private final boolean failuresListed;

    @SuppressWarnings({"unchecked", "rawtypes"})
    RuleClassifier(Classifier.Builder builder) {
        failTypes = builder.failTypes.toArray(new Class<?>[0]);
        failPredicates = builder.failPredicates.toArray(new Predicate[0]);
        ignoreTypes = builder.ignoreTypes.toArray(new Class<?>[0]);
        ignorePredicates = builder.ignorePredicates.toArray(new Predicate[0]);
        failResults = builder.failResults.toArray(new Predicate[0]);
        ignoreResults = builder.ignoreResults.toArray(new Predicate[0]);
        failuresListed = failTypes.length + failPredicates.length > 0;
    }

    @Override
    public Outcome classify(Object result, Throwable failure) {
        if (failure != null) {
            if (matchesType(ignoreTypes, failure) || matchesPredicate(ignorePredicates, failure)) {
                return Outcome.IGNORED;
            }
            if (!failuresListed || matchesType(failTypes, failure) || matchesPredicate(failPredicates, failure)) {
                return Outcome.FAILURE;
            }
            return Outcome.SUCCESS;
        }
        for (Predicate<Object> rule : ignoreResults) {
            if (rule.test(result)) {
                return Outcome.IGNORED;
            }
        }
        for (Predicate<Object> rule : failResults) {
            if (rule.test(result)) {
                return Outcome.FAILURE;
            }
        }
        return Outcome.SUCCESS;
    }

    private static boolean matchesType(Class<?>[] types, Throwable failure) {
        if (types.length == 0) {
            return false;
        }
        Throwable current = failure;
        for (int depth = 0; current != null && depth < MAX_CAUSE_DEPTH; depth++) {
            for (Class<?> type : types) {
                if (type.isInstance(current)) {
                    return true;
                }
            }
            Throwable cause = current.getCause();
            current = cause == current ? null : cause;
        }
        return false;
    }

    private static boolean matchesPredicate(Predicate<? super Throwable>[] predicates, Throwable failure) {
        for (Predicate<? super Throwable> predicate : predicates) {
            if (predicate.test(failure)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return this == DEFAULTS ? "Classifier.defaults()" : "Classifier[rules]";
    }
}
