package dev.vigil.core;

/**
 * Runs the user's decision callbacks (classifiers, retry-after readers) on behalf of a policy, written
 * once: a callback that throws ends the call with its own exception, and the call's failure, if any,
 * is attached to it as suppressed so it is not lost. Stateless and thread-safe.
 */
final class Callbacks {
    private Callbacks() {}

    /**
     * Classifies an outcome.
     *
     * @param policyName the policy, for the message when a classifier returns null
     * @return the outcome, never null
     * @throws Throwable what the classifier threw (sneakily, if checked), the call's failure attached;
     *                   {@link IllegalStateException} if it returned null
     */
    static Outcome classify(Classifier classifier, Object result, Throwable failure, String policyName) {
        Outcome outcome;
        try {
            outcome = classifier.classify(result, failure);
        } catch (Throwable classifierFailure) {
            throw Invokers.sneakyThrow(withCallFailure(classifierFailure, failure));
        }
        if (outcome == null) {
            throw withCallFailure(new IllegalStateException("classifier of '" + policyName + "' returned null"), failure);
        }
        return outcome;
    }

    /** Returns {@code callbackFailure} with the call's own failure (if any, and another one) attached. */
    static <E extends Throwable> E withCallFailure(E callbackFailure, Throwable callFailure) {
        if (callFailure != null && callFailure != callbackFailure) {
            callbackFailure.addSuppressed(callFailure);
        }
        return callbackFailure;
    }
}
