package dev.vigil.core;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * One link of a {@link Pipeline}'s chain, built once when the pipeline is built. An admission stage
 * drives its policy's permit protocol around the next stage; a control stage hands the next stage to
 * its policy's {@code execute} (which may run it several times: a retry, a hedge) as a pre-built
 * function, so the chain allocates nothing per call for the built-in conveniences. Immutable and
 * thread-safe.
 */
abstract class Stage {
    /** The admission policies at and below this stage, to recognise their rejections by identity. */
    private final AdmissionPolicy[] admissionsBelow;

    Stage(AdmissionPolicy[] admissionsBelow) {
        this.admissionsBelow = admissionsBelow;
    }

    abstract <A, T> T run(CheckedFunction<? super A, ? extends T> action, A argument) throws Exception;

    /** Runs the asynchronous call through this stage and the rest; never throws (failures are failed stages). */
    abstract <T> CompletionStage<T> runAsync(Supplier<? extends CompletionStage<T>> call);

    /** True if a policy at or below this stage raised {@code rejection} (only on the rejection path). */
    final boolean rejectedBelow(RejectedException rejection) {
        Object source = rejection.rejectedBy;
        for (AdmissionPolicy policy : admissionsBelow) {
            if (policy == source) {
                return true;
            }
        }
        return false;
    }

    static Stage chain(Policy[] policies) {
        Stage next = new Terminal();
        for (int i = policies.length - 1; i >= 0; i--) {
            Policy policy = policies[i];
            List<AdmissionPolicy> below = new ArrayList<>(List.of(next.admissionsBelow));
            if (policy instanceof AdmissionPolicy) {
                below.add((AdmissionPolicy) policy);
                next = new AdmissionStage((AdmissionPolicy) policy, next, below.toArray(new AdmissionPolicy[0]));
            } else {
                next = new ControlStage(policy, next, below.toArray(new AdmissionPolicy[0]));
            }
        }
        return next;
    }

    /** The end of the chain: the call itself. */
    static final class Terminal extends Stage {
        Terminal() {
            super(new AdmissionPolicy[0]);
        }

        @Override
        <A, T> T run(CheckedFunction<? super A, ? extends T> action, A argument) throws Exception {
            return action.apply(argument);
        }

        @Override
        <T> CompletionStage<T> runAsync(Supplier<? extends CompletionStage<T>> call) {
            return LinkedFuture.start(call);
        }
    }

    /** An admission policy around the rest of the chain. */
    static final class AdmissionStage extends Stage {
        private final AdmissionPolicy policy;
        /** The rest of the chain, or null when the call itself comes next. */
        private final Stage inner;

        AdmissionStage(AdmissionPolicy policy, Stage next, AdmissionPolicy[] below) {
            super(below);
            this.policy = policy;
            this.inner = next instanceof Terminal ? null : next;
        }

        @Override
        <A, T> T run(CheckedFunction<? super A, ? extends T> action, A argument) throws Exception {
            return Admissions.execute(policy, inner, action, argument);
        }

        @Override
        <T> CompletionStage<T> runAsync(Supplier<? extends CompletionStage<T>> call) {
            return Admissions.callAsync(policy, inner, call);
        }
    }

    /**
     * A control-flow policy (timeout, retry, fallback, hedge) around the rest of the chain. For the
     * shared convenience adapters the rest of the chain is a pre-built function of the user's call;
     * any other action is bound to its argument in one small adapter per call.
     */
    static final class ControlStage extends Stage {
        private final Policy policy;
        private final Stage next;
        private final CheckedFunction<Callable<?>, Object> nextForCallable;
        private final CheckedFunction<Supplier<?>, Object> nextForSupplier;
        private final CheckedFunction<Runnable, Object> nextForRunnable;

        ControlStage(Policy policy, Stage next, AdmissionPolicy[] below) {
            super(below);
            this.policy = policy;
            this.next = next;
            this.nextForCallable = callable -> next.run(Invokers.CALLABLE, callable);
            this.nextForSupplier = supplier -> next.run(Invokers.SUPPLIER, supplier);
            this.nextForRunnable = runnable -> next.run(Invokers.RUNNABLE, runnable);
        }

        @Override
        @SuppressWarnings("unchecked")
        <A, T> T run(CheckedFunction<? super A, ? extends T> action, A argument) throws Exception {
            if (action == Invokers.CALLABLE) {
                return (T) policy.execute(nextForCallable, (Callable<?>) argument);
            }
            if (action == Invokers.SUPPLIER) {
                return (T) policy.execute(nextForSupplier, (Supplier<?>) argument);
            }
            if (action == Invokers.RUNNABLE) {
                return (T) policy.execute(nextForRunnable, (Runnable) argument);
            }
            Callable<T> bound = () -> action.apply(argument);
            return (T) policy.execute(nextForCallable, bound);
        }

        @Override
        <T> CompletionStage<T> runAsync(Supplier<? extends CompletionStage<T>> call) {
            try {
                return policy.callAsync(() -> next.runAsync(call));
            } catch (RuntimeException | Error policyFailure) {
                return CompletableFuture.failedFuture(policyFailure); // runAsync never throws
            }
        }
    }
}
