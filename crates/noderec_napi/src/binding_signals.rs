//! Signals: the native SIGINT/SIGTERM/SIGHUP handler (`session::signals`)
//! and the threadsafe function through which it asks JavaScript to finalize.

use napi::bindgen_prelude::Function;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::Env;
use napi_derive::napi;
use noderec_core::session::signals;

use crate::binding_errors::{coded, guard};
use napi::Result;

/// Installs the native handler for the named signals (those the program has
/// no listener for). `onSignal(name)` is called on the main thread when one
/// arrives; it does not keep the event loop alive. Returns the signals now
/// handled.
#[napi]
pub fn signals_install(env: &Env, names: Vec<String>, on_signal: Function<String, ()>) -> Result<Vec<String>> {
    guard(env, "signalsInstall", || {
        let tsfn = on_signal.build_threadsafe_function::<String>().callee_handled::<false>().weak::<true>().build()?;
        let which: Vec<i32> = names.iter().filter_map(|n| signals::number(n)).collect();
        let notify: signals::Notifier = Box::new(move |sig| {
            tsfn.call(signals::name(sig).to_string(), ThreadsafeFunctionCallMode::NonBlocking);
        });
        let done = signals::install(&which, notify)
            .map_err(|e| coded("ERR_INTERNAL", &format!("cannot install signal handlers: {e}")))?;
        Ok(done.into_iter().map(|s| signals::name(s).to_string()).collect())
    })
}

/// Installs the handler again where the program's last listener went away
/// (the action is the default again). Main thread only.
#[napi]
pub fn signals_recheck() {
    signals::recheck();
}

/// Takes the signal that arrived and was not handled yet, for the main
/// thread to finalize with; null when there is none (or the native thread
/// already finished the trace for it).
#[napi]
pub fn signals_claim() -> Option<String> {
    signals::claim_for_js().map(|s| signals::name(s).to_string())
}

/// Puts back the action in force before noderec for the pending signal and
/// raises it: the process ends the way it would have without the recorder.
#[napi]
pub fn signals_reraise() {
    signals::reraise();
}

/// Puts back the previous actions. Returns a signal that arrived meanwhile
/// and is now the caller's to finalize with and raise (null: none).
#[napi]
pub fn signals_uninstall() -> Option<String> {
    signals::uninstall().map(|s| signals::name(s).to_string())
}
