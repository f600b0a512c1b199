/**
 * The runnable demonstration: {@link dev.vigil.demo.FlakyService}, an unreliable HTTP service on
 * 127.0.0.1, and {@link dev.vigil.demo.QuickStart}, the README's quick start calling it through Vigil.
 */
package dev.vigil.demo;
