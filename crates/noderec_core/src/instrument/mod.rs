//! Instrumenter (in progress).
