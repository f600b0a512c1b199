/**
 * Test support shared by every Vigil module's tests through core's test jar (allocation counting,
 * module surface checks). Not part of any published API.
 */
package dev.vigil.core.testing;
