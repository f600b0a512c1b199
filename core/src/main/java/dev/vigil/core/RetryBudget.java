package dev.vigil.core;

import dev.vigil.core.internal.Checks;
import dev.vigil.core.time.Ticker;
import java.time.Duration;

/**
 * Caps retries (and hedges) as a share of the traffic, so that when a dependency fails, retries add a
 * bounded fraction of extra load instead of multiplying it by the attempt count (a retry storm). One
 * budget is usually shared by every {@link Retry} and {@link Hedge} that calls the same dependency.
 *
 * <p>Two kinds are built in:
 * <ul>
 *   <li>{@link #tokenBucket()}, as in gRPC's retry throttling: the budget holds {@code maxTokens}
 *       tokens (full at start); every failed attempt takes one, every successful one returns
 *       {@code tokenRatio}; retries stop while the tokens are at or below half of {@code maxTokens}. A
 *       hedge takes a token itself, and only if at least one whole token lies above the half. Over any
 *       run, retries + hedges &lt;= tokenRatio * calls + maxTokens / 2.</li>
 *   <li>{@link #percentOfRequests()}, as in Finagle's retry budget: each call deposits
 *       {@code percentCanRetry} of a retry, each retry withdraws one, deposits and withdrawals expire
 *       after {@code ttl}, and {@code minRetriesPerSecond * ttl} retries are always allowed (so that
 *       low-traffic clients can still retry).</li>
 * </ul>
 *
 * <p>The protocol a policy follows for each call: {@link #onCall()} once when the call starts;
 * {@link #onSuccess()} or {@link #onFailure()} after each attempt whose outcome a classifier judged
 * (a retryable failure, or an acceptable result); {@link #tryAcquireRetry()} before each retry and
 * {@link #tryAcquireHedge()} before each hedge, which starts only if it returns true. When policies
 * sharing a budget are nested ({@code Pipeline.of(retry, hedge)}), the outer one counts the call and
 * its outcomes and the inner one only draws its retries or hedges, so a call is counted once. An
 * application may implement its own budget (say, one shared through Redis) by implementing these
 * methods.
 *
 * <p>Policies report the budget's {@link #available()} and {@link #deniedCount()} with their metrics
 * ({@code vigil.retry.budget.available}, {@code vigil.retry.budget.denied}).
 *
 * <p>Implementations are thread-safe and, for the built-in kinds, lock-free and allocation-free. The
 * token bucket is the cheaper one: while it is full a success only reads one word; the budget over
 * recent requests reads the clock and updates a shared counter on every call.
 */
public interface RetryBudget {

    /** @return the budget's name, used in {@link RetryBudgetExhaustedException} */
    String name();

    /** A call starts (its first attempt). */
    void onCall();

    /** An attempt succeeded. */
    void onSuccess();

    /** An attempt failed in a way that could be retried. */
    void onFailure();

    /**
     * Asks to start a retry and, if allowed, takes it from the budget.
     *
     * @return true if the retry may start
     */
    boolean tryAcquireRetry();

    /**
     * Asks to start a hedge (an extra attempt beside one still running) and, if allowed, takes it from
     * the budget. A hedge is not preceded by a failure, so a budget that charges failures rather than
     * retries must charge the hedge itself: the token bucket takes a whole token. The default treats a
     * hedge as a retry.
     *
     * @return true if the hedge may start
     */
    default boolean tryAcquireHedge() {
        return tryAcquireRetry();
    }

    /**
     * Returns how many retries the budget would allow now, for metrics and health (an estimate while
     * other threads use the budget).
     *
     * @return the retries available now, zero or more
     */
    long available();

    /** @return how many times the budget refused a retry or hedge */
    long deniedCount();

    /**
     * Returns the exception attached (as suppressed) to the failure a caller sees when this budget
     * refused a retry. Called only on that path.
     *
     * @return a new exception naming this budget
     */
    default RetryBudgetExhaustedException exhausted() {
        return new RetryBudgetExhaustedException(name(), "retry budget '" + name() + "' is exhausted: retry not attempted", -1L);
    }

    /**
     * Starts a gRPC-style token bucket budget (defaults: {@code maxTokens} 10, {@code tokenRatio} 0.1,
     * name {@code "retry-budget"}).
     *
     * @return a new builder
     */
    static TokenBucketBuilder tokenBucket() {
        return new TokenBucketBuilder();
    }

    /**
     * Starts a Finagle-style budget over recent requests (defaults: {@code percentCanRetry} 0.2,
     * {@code ttl} 10 s, {@code minRetriesPerSecond} 10, name {@code "retry-budget"}).
     *
     * @return a new builder
     */
    static PercentOfRequestsBuilder percentOfRequests() {
        return new PercentOfRequestsBuilder();
    }

    /** Configures a token bucket budget. Not thread-safe; {@link #build()} copies. */
    final class TokenBucketBuilder {
        String name = "retry-budget";
        int maxTokens = 10;
        double tokenRatio = 0.1;

        TokenBucketBuilder() {}

        /**
         * @param name the budget's name, not blank
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or blank
         */
        public TokenBucketBuilder name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * @param maxTokens the bucket's capacity, in [1, 1000000]; retries stop at or below half of it
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public TokenBucketBuilder maxTokens(int maxTokens) {
            this.maxTokens = Checks.inRange(maxTokens, 1, 1_000_000, "maxTokens");
            return this;
        }

        /**
         * @param tokenRatio tokens a successful attempt returns, in [0.001, 1000] (kept to three
         *                   decimal places, as in gRPC)
         * @return this builder
         * @throws IllegalArgumentException if out of range (zero and negative ratios included)
         */
        public TokenBucketBuilder tokenRatio(double tokenRatio) {
            this.tokenRatio = Checks.inRange(tokenRatio, 0.001, 1000.0, "tokenRatio");
            return this;
        }

        /** @return a new budget, full */
        public RetryBudget build() {
            return new TokenBucketBudget(name, maxTokens, tokenRatio);
        }
    }

    /** Configures a budget over recent requests. Not thread-safe; {@link #build()} copies. */
    final class PercentOfRequestsBuilder {
        String name = "retry-budget";
        double percentCanRetry = 0.2;
        Duration ttl = Duration.ofSeconds(10);
        int minRetriesPerSecond = 10;
        Ticker ticker = Ticker.system();

        PercentOfRequestsBuilder() {}

        /**
         * @param name the budget's name, not blank
         * @return this builder
         * @throws IllegalArgumentException if {@code name} is null or blank
         */
        public PercentOfRequestsBuilder name(String name) {
            this.name = Checks.notBlank(name, "name");
            return this;
        }

        /**
         * @param percentCanRetry retries allowed per call, as a fraction in [0, 10] (0.2 = 20%); kept to
         *                        three decimal places
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public PercentOfRequestsBuilder percentCanRetry(double percentCanRetry) {
            this.percentCanRetry = Checks.inRange(percentCanRetry, 0.0, 10.0, "percentCanRetry");
            return this;
        }

        /**
         * @param ttl how long deposits and withdrawals count, in [1 s, 1 h]
         * @return this builder
         * @throws IllegalArgumentException if null or out of range
         */
        public PercentOfRequestsBuilder ttl(Duration ttl) {
            this.ttl = Checks.inRange(ttl, Duration.ofSeconds(1), Duration.ofHours(1), "ttl");
            return this;
        }

        /**
         * @param minRetriesPerSecond retries always allowed per second whatever the traffic, in [0, 1000000]
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public PercentOfRequestsBuilder minRetriesPerSecond(int minRetriesPerSecond) {
            this.minRetriesPerSecond = Checks.inRange(minRetriesPerSecond, 0, 1_000_000, "minRetriesPerSecond");
            return this;
        }

        /**
         * @param ticker the clock that ages deposits (default {@link Ticker#system()}); in a test, give the
         *               virtual clock of the policies' scheduler ({@code scheduler.ticker()}) so real and
         *               virtual time are not mixed
         * @return this builder
         * @throws IllegalArgumentException if {@code ticker} is null
         */
        public PercentOfRequestsBuilder ticker(Ticker ticker) {
            this.ticker = Checks.notNull(ticker, "ticker");
            return this;
        }

        /** @return a new budget */
        public RetryBudget build() {
            return new RecentRequestsBudget(name, percentCanRetry, ttl, minRetriesPerSecond, ticker);
        }
    }
}
