//! What every stage of the core needs from the process it runs in, below
//! all of them: files and directories opened safely (`filesystem`), and the
//! channel for failures, logs and injected test faults (`failure`).

pub mod failure;
pub mod filesystem;
