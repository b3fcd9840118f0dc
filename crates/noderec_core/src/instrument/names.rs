//! Qualified names of functions (see design-docs/probes.md, "Function table").

use oxc_ast::ast::{AssignmentTarget, BindingPattern, Expression, PropertyKey};
use oxc_span::GetSpan;

/// Name of the module top level.
pub(crate) const MODULE: &str = "<module>";
/// Name of anything that is not bound to a name.
pub(crate) const ANONYMOUS: &str = "<anonymous>";
/// Longest computed-key source text kept as a name (`[Symbol.iterator]`).
const MAX_COMPUTED_KEY: usize = 60;

/// The name of a property key: `x`, `'x'` → `x`, `#x` → `#x`, `1` → `1`,
/// computed `[Symbol.iterator]` → `[Symbol.iterator]` (its source text, when short
/// and on one line), otherwise `<computed>`.
pub(crate) fn key_name(key: &PropertyKey<'_>, source: &str) -> String {
    match key {
        PropertyKey::StaticIdentifier(id) => id.name.as_str().to_string(),
        PropertyKey::PrivateIdentifier(id) => format!("#{}", id.name.as_str()),
        _ => {
            if let Some(name) = key.static_name() {
                return name.into_owned();
            }
            let span = key.span();
            let text = &source[span.start as usize..span.end as usize];
            if text.len() <= MAX_COMPUTED_KEY && !text.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
                format!("[{text}]")
            } else {
                "<computed>".to_string()
            }
        }
    }
}

/// The name of an assignment target: `x`, `obj.x`, `a.b.c`, `this.x`, `this.#x`;
/// `None` for computed members and patterns.
pub(crate) fn target_name(target: &AssignmentTarget<'_>) -> Option<String> {
    let mut out = String::new();
    let ok = match target {
        AssignmentTarget::AssignmentTargetIdentifier(id) => {
            out.push_str(id.name.as_str());
            true
        }
        AssignmentTarget::StaticMemberExpression(m) => {
            path(&m.object, &mut out) && {
                out.push('.');
                out.push_str(m.property.name.as_str());
                true
            }
        }
        AssignmentTarget::PrivateFieldExpression(m) => {
            path(&m.object, &mut out) && {
                out.push_str(".#");
                out.push_str(m.field.name.as_str());
                true
            }
        }
        _ => false,
    };
    ok.then_some(out)
}

/// Appends a dotted path for identifiers, `this` and static member chains.
fn path(expr: &Expression<'_>, out: &mut String) -> bool {
    match expr {
        Expression::Identifier(id) => {
            out.push_str(id.name.as_str());
            true
        }
        Expression::ThisExpression(_) => {
            out.push_str("this");
            true
        }
        Expression::StaticMemberExpression(m) => {
            path(&m.object, out) && {
                out.push('.');
                out.push_str(m.property.name.as_str());
                true
            }
        }
        _ => false,
    }
}

/// The binding name of a simple binding pattern (`x`, or `x = 1` in a default).
pub(crate) fn binding_name<'a>(pattern: &BindingPattern<'a>) -> Option<&'a str> {
    match pattern {
        BindingPattern::BindingIdentifier(id) => Some(id.name.as_str()),
        _ => None,
    }
}

/// Whether an expression (parentheses aside) is a function, arrow or class, i.e. takes
/// the name it is bound to; returns the start of that node.
pub(crate) fn nameable_start(expr: &Expression<'_>) -> Option<u32> {
    match expr.without_parentheses() {
        e @ (Expression::FunctionExpression(_)
        | Expression::ArrowFunctionExpression(_)
        | Expression::ClassExpression(_)) => Some(e.span().start),
        _ => None,
    }
}

/// Whether `expr` is an anonymous function definition (an arrow, a function or class
/// expression without a name, parenthesized or not): the spec names it after what it is
/// assigned to (`x = () => {}` makes `x.name === "x"`), so instrumented code must neither
/// assign it to a name of ours nor pass it through a call where the program assigns it.
pub(crate) fn is_anonymous_function_definition(expr: &Expression<'_>) -> bool {
    match expr.without_parentheses() {
        Expression::ArrowFunctionExpression(_) => true,
        Expression::FunctionExpression(f) => f.id.is_none(),
        Expression::ClassExpression(c) => c.id.is_none(),
        _ => false,
    }
}

/// Appends parameter binding names in order, patterns flattened, defaults skipped.
pub(crate) fn push_bound_names(pattern: &BindingPattern<'_>, out: &mut Vec<String>) {
    match pattern {
        BindingPattern::BindingIdentifier(id) => out.push(id.name.as_str().to_string()),
        BindingPattern::AssignmentPattern(p) => push_bound_names(&p.left, out),
        BindingPattern::ObjectPattern(p) => {
            for prop in &p.properties {
                push_bound_names(&prop.value, out);
            }
            if let Some(rest) = &p.rest {
                push_bound_names(&rest.argument, out);
            }
        }
        BindingPattern::ArrayPattern(p) => {
            for el in p.elements.iter().flatten() {
                push_bound_names(el, out);
            }
            if let Some(rest) = &p.rest {
                push_bound_names(&rest.argument, out);
            }
        }
    }
}
