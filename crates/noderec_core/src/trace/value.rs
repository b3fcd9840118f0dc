//! Value codec (in progress).
