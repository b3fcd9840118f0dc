//! Whether a function suspends: an `await`, a `yield` or a `for await` in its own body
//! (not in nested functions). Such a function leaves the stack and comes back, so its
//! probes carry a token instead of a stack height (probes.md).

use oxc_ast::ast::{
    AccessorProperty, ArrowFunctionExpression, AwaitExpression, Expression, ForOfStatement, Function, FunctionBody,
    PropertyDefinition, StaticBlock, YieldExpression,
};
use oxc_ast_visit::{walk, Visit};
use oxc_syntax::scope::ScopeFlags;

#[derive(Default)]
struct Scan {
    found: bool,
}

impl<'a> Visit<'a> for Scan {
    fn visit_await_expression(&mut self, _it: &AwaitExpression<'a>) {
        self.found = true;
    }

    fn visit_yield_expression(&mut self, _it: &YieldExpression<'a>) {
        self.found = true;
    }

    fn visit_for_of_statement(&mut self, it: &ForOfStatement<'a>) {
        if it.r#await {
            self.found = true;
        } else {
            walk::walk_for_of_statement(self, it);
        }
    }

    // Nested functions suspend on their own.
    fn visit_function(&mut self, _it: &Function<'a>, _flags: ScopeFlags) {}

    fn visit_arrow_function_expression(&mut self, _it: &ArrowFunctionExpression<'a>) {}

    // A class inside the function: its computed keys and heritage belong to the
    // function; its members' bodies and initializers do not.
    fn visit_property_definition(&mut self, it: &PropertyDefinition<'a>) {
        if it.computed {
            self.visit_property_key(&it.key);
        }
    }

    fn visit_accessor_property(&mut self, it: &AccessorProperty<'a>) {
        if it.computed {
            self.visit_property_key(&it.key);
        }
    }

    fn visit_static_block(&mut self, _it: &StaticBlock<'a>) {}
}

/// Whether the body suspends.
pub(crate) fn suspends(body: &FunctionBody<'_>) -> bool {
    let mut scan = Scan::default();
    scan.visit_function_body(body);
    scan.found
}

/// Whether an arrow's expression body suspends.
pub(crate) fn expression_suspends(expr: &Expression<'_>) -> bool {
    let mut scan = Scan::default();
    scan.visit_expression(expr);
    scan.found
}
