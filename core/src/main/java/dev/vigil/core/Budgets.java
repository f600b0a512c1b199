package dev.vigil.core;

import dev.vigil.core.metrics.MetricsSink;

/**
 * How {@link Retry} and {@link Hedge} take part in a shared {@link RetryBudget}, written once: which
 * policy counts a call, how a refusal reaches the caller, and how the budget shows in metrics.
 * Stateless and thread-safe.
 */
final class Budgets {
    private Budgets() {}

    /**
     * Returns the budget to count a call and its outcomes in, after counting the call: null without a
     * budget, or when the enclosing attempt was started by a policy with the same budget (which counts
     * the call; the nested policy then only draws its retries or hedges), so a call is counted once.
     * Reads the thread's current attempt only when there is a budget.
     *
     * @param budget the policy's budget, or null
     */
    static RetryBudget reporting(RetryBudget budget) {
        return budget == null ? null : reporting(budget, Attempt.currentOrNull());
    }

    /** As {@link #reporting(RetryBudget)}, given the enclosing attempt the caller already read. */
    static RetryBudget reporting(RetryBudget budget, Attempt enclosing) {
        if (budget == null || (enclosing != null && enclosing.usesBudget(budget))) {
            return null;
        }
        budget.onCall();
        return budget;
    }

    /**
     * Attaches the budget's refusal to the failure the caller will see, unless one from the same budget
     * is already attached: an exception instance thrown again and again (a cached one) must not
     * accumulate refusals without bound. Runs only on the refusal path.
     *
     * @param failure the exception the caller will see, or null when a result was the failure (the
     *                caller then gets the result; events and {@link RetryBudget#deniedCount()} tell)
     */
    static void attachRefusal(Throwable failure, RetryBudget budget) {
        if (failure == null) {
            return;
        }
        for (Throwable attached : failure.getSuppressed()) {
            if (attached instanceof RetryBudgetExhaustedException
                    && ((RetryBudgetExhaustedException) attached).policyName().equals(budget.name())) {
                return;
            }
        }
        failure.addSuppressed(budget.exhausted());
    }

    /** Describes the budget's meters for a policy that uses it (nothing without a budget). */
    static void describeMetrics(RetryBudget budget, MetricsSink sink) {
        if (budget != null) {
            sink.gauge("vigil.retry.budget.available", "Retries the budget would allow now", "retries", () -> budget.available());
            sink.counter("vigil.retry.budget.denied", "Retries and hedges the budget refused", "denied", budget::deniedCount);
        }
    }
}
