/**
 * JMH benchmarks of Vigil's policies beside the same job done by their peers (resilience4j, Failsafe),
 * run with {@code benchmarks/run}; see {@code benchmarks/README.md} and {@code benchmarks/RESULTS.md}.
 */
package dev.vigil.benchmarks;
