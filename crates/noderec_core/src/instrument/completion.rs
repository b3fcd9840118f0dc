//! Whether the end of a body is reachable: a body whose last statement cannot
//! complete normally (ECMAScript's "completes normally", decided
//! conservatively) never runs the end-of-body probe, and coverage tools
//! (V8's block coverage, read by c8, tap, jest's and vitest's v8 providers)
//! report unreachable code as code that did not run: a function whose every
//! path returns showed an uncovered line or branch where it closes.

use oxc_ast::ast::{ArrowFunctionExpression, BreakStatement, Class, Expression, Function, Statement};
use oxc_ast_visit::Visit;
use oxc_syntax::scope::ScopeFlags;

/// True when control cannot reach the end of `statements` (their last one
/// returns or throws on every path, or is a `while (true)` / `for (;;)` loop
/// with no `break` in it). False when unsure: other loops, `switch`, labeled
/// statements (a `break` may leave them) and anything else.
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
        Statement::WhileStatement(w) => always_true(&w.test) && !has_break(&w.body),
        Statement::ForStatement(f) => f.test.as_ref().is_none_or(always_true) && !has_break(&f.body),
        Statement::DoWhileStatement(d) => always_true(&d.test) && !has_break(&d.body),
        _ => false,
    }
}

fn always_true(e: &Expression<'_>) -> bool {
    matches!(e.without_parentheses(), Expression::BooleanLiteral(b) if b.value)
}

/// True when `s` holds a `break` (any: one that leaves an inner loop too),
/// outside the functions and classes in it.
fn has_break(s: &Statement<'_>) -> bool {
    let mut finder = BreakFinder(false);
    finder.visit_statement(s);
    finder.0
}

struct BreakFinder(bool);

impl<'a> Visit<'a> for BreakFinder {
    fn visit_break_statement(&mut self, _: &BreakStatement<'a>) {
        self.0 = true;
    }
    fn visit_function(&mut self, _: &Function<'a>, _: ScopeFlags) {}
    fn visit_arrow_function_expression(&mut self, _: &ArrowFunctionExpression<'a>) {}
    fn visit_class(&mut self, _: &Class<'a>) {}
}
