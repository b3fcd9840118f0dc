//! Whether the end of a body is reachable: a body whose last statement cannot
//! complete normally (ECMAScript's "completes normally", decided
//! conservatively) never runs the end-of-body probe, and coverage tools
//! (V8's block coverage, read by c8, tap, jest's and vitest's v8 providers)
//! report unreachable code as code that did not run: a function whose every
//! path returns showed an uncovered line or branch where it closes.

use oxc_ast::ast::Statement;

/// True when control cannot reach the end of `statements` (their last one
/// returns or throws on every path). False when unsure: loops, `switch`,
/// labeled statements (a `break` may leave them) and anything else.
pub(crate) fn ends_abruptly(statements: &[Statement<'_>]) -> bool {
    statements.last().is_some_and(abrupt)
}

fn abrupt(s: &Statement<'_>) -> bool {
    match s {
        Statement::ReturnStatement(_) | Statement::ThrowStatement(_) => true,
        Statement::BlockStatement(b) => ends_abruptly(&b.body),
        Statement::IfStatement(i) => i.alternate.as_ref().is_some_and(|a| abrupt(&i.consequent) && abrupt(a)),
        Statement::TryStatement(t) => {
            t.finalizer.as_ref().is_some_and(|f| ends_abruptly(&f.body))
                || (ends_abruptly(&t.block.body) && t.handler.as_ref().is_none_or(|h| ends_abruptly(&h.body.body)))
        }
        _ => false,
    }
}
