/**
 * Implementation helpers shared by Vigil's modules. Not exported to applications: nothing here is
 * API, and any of it may change in any release.
 */
package dev.vigil.core.internal;
