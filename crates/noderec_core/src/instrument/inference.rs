//! V8's name inference for anonymous functions, as far as the probes around a
//! value must respect it (probes.md, *Names V8 infers*).
//!
//! Besides the `name` property the language defines, V8's parser gives every
//! anonymous function or class an *inferred name* that stack traces show
//! (`at x (…)`, `at new x (…)`) and coverage reports list. Its rule is a flat
//! list: each function or class literal is added to it; an assignment with `=`
//! (or `||=`, `&&=`, `??=`), an initialized declaration or an object property
//! names every function in the list after its target (the names on the
//! parser's stack: `x`, `a.b`, `f`) and empties it; a call removes the last
//! one. So `return c ? () => {} : 0` leaves the arrow in the list, unnamed,
//! and `__nr$v = c ? () => {} : 0` names it `__nr$v`.
//!
//! A value that may leave a function in the list crosses into a probe by
//! context ([`Crossing`]): through `(__nr$).prototype = e` where the program
//! assigns it or a property or field in it names a function (a parenthesized
//! object pushes no name, and V8 pushes none for a property called
//! `prototype`: the functions get the names the context already has, `f` in
//! `const f = await e`); through `__nr$.V(e)`, an identity call that removes
//! it from the list, elsewhere (a `return`, where nothing of the program
//! would name it). The runtime's `prototype` is a setter that stores into
//! `__nr$v`. probes.md, *Names V8 infers*.

use oxc_ast::ast::{
    ArrayExpressionElement, ArrowFunctionExpression, Class, Expression, Function, ObjectExpression, ObjectProperty,
    PropertyDefinition, PropertyKind,
};
use oxc_ast_visit::Visit;
use oxc_syntax::scope::ScopeFlags;

/// The target a value crosses through when it may carry functions V8 has not named yet.
pub(crate) const NEUTRAL: &str = "(__nr$).prototype";
/// The target otherwise.
pub(crate) const PLAIN: &str = "__nr$v";

/// How many function or class literals V8's list may still hold after `e`
/// (an estimate that errs upwards: a wrong guess upwards costs a setter call).
fn pending(e: &Expression<'_>) -> usize {
    match e {
        Expression::FunctionExpression(_) | Expression::ArrowFunctionExpression(_) | Expression::ClassExpression(_) => {
            1
        }
        Expression::ParenthesizedExpression(p) => pending(&p.expression),
        Expression::ConditionalExpression(c) => pending(&c.test) + pending(&c.consequent) + pending(&c.alternate),
        Expression::LogicalExpression(l) => pending(&l.left) + pending(&l.right),
        Expression::BinaryExpression(b) => pending(&b.left) + pending(&b.right),
        Expression::SequenceExpression(s) => s.expressions.iter().map(pending).sum(),
        Expression::ArrayExpression(a) => a
            .elements
            .iter()
            .map(|el| match el {
                ArrayExpressionElement::SpreadElement(s) => pending(&s.argument),
                ArrayExpressionElement::Elision(_) => 0,
                other => other.as_expression().map_or(0, pending),
            })
            .sum(),
        Expression::UnaryExpression(u) => pending(&u.argument),
        // Their own probes take care of what their operand carries.
        Expression::AwaitExpression(_) | Expression::YieldExpression(_) => 0,
        Expression::StaticMemberExpression(m) => pending(&m.object),
        Expression::ComputedMemberExpression(m) => pending(&m.object) + pending(&m.expression),
        Expression::TemplateLiteral(t) => t.expressions.iter().map(pending).sum(),
        // A call removes the last function: those before it stay.
        Expression::CallExpression(_) | Expression::NewExpression(_) => functions_in(e).saturating_sub(1),
        // Named by the program's own assignment, unless its value is a call.
        Expression::AssignmentExpression(a) => match &a.right {
            Expression::CallExpression(_) | Expression::NewExpression(_) => functions_in(&a.right).saturating_sub(1),
            _ if a.operator.is_assign() || a.operator.is_logical() => 0,
            right => pending(right),
        },
        Expression::ObjectExpression(o) if plain_object(o) => 0,
        Expression::Identifier(_)
        | Expression::BooleanLiteral(_)
        | Expression::NullLiteral(_)
        | Expression::NumericLiteral(_)
        | Expression::BigIntLiteral(_)
        | Expression::StringLiteral(_)
        | Expression::RegExpLiteral(_)
        | Expression::ThisExpression(_)
        | Expression::Super(_) => 0,
        // Anything else: any function literal in it.
        other => functions_in(other),
    }
}

/// An object literal names each property's functions after its key.
fn plain_object(o: &ObjectExpression<'_>) -> bool {
    o.properties.iter().all(|p| matches!(p, oxc_ast::ast::ObjectPropertyKind::ObjectProperty(_)))
}

/// The function and class literals in `e` (not counting those nested in them).
fn functions_in(e: &Expression<'_>) -> usize {
    let mut scan = Scan(0);
    scan.visit_expression(e);
    scan.0
}

struct Scan(usize);

impl<'a> Visit<'a> for Scan {
    fn visit_function(&mut self, _it: &Function<'a>, _flags: ScopeFlags) {
        self.0 += 1;
    }
    fn visit_arrow_function_expression(&mut self, _it: &ArrowFunctionExpression<'a>) {
        self.0 += 1;
    }
    fn visit_class(&mut self, _it: &Class<'a>) {
        self.0 += 1;
    }
}

/// `__nr$.V(e)`: the probes' identity. A call removes the last function from V8's list, as
/// the program's own call around an `await`/`yield` would, or as nothing of the program
/// would name a function left in a `return` (inference.rs: the neutral target names with
/// the names around it, which in a function compiled with its caller are the caller's).
pub(crate) const IDENTITY: &str = "__nr$.V(";

/// How a value crosses into a probe.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Crossing {
    /// `__nr$v=e`: nothing for V8 to name.
    Plain,
    /// `(__nr$).prototype=e`: named as the program's enclosing assignment names it.
    Neutral,
    /// `__nr$v=__nr$.V(e)`: left unnamed.
    Identity,
}

impl Crossing {
    /// For a value that flows into an assignment, declaration or property of the
    /// program's own (`flows`), or not.
    pub(crate) fn of(e: &Expression<'_>, flows: bool) -> Crossing {
        if names_inside(e) {
            // `__nr$v=` or `__nr$.V(` would put their names in front of the property's.
            return Crossing::Neutral;
        }
        match (pending(e) > 0, flows) {
            (false, _) => Crossing::Plain,
            (true, true) => Crossing::Neutral,
            (true, false) => Crossing::Identity,
        }
    }

    pub(crate) fn target(self) -> &'static str {
        match self {
            Crossing::Neutral => NEUTRAL,
            _ => PLAIN,
        }
    }
}

/// Adds to `out` the start of every `await` and `yield` whose value reaches the end of
/// `e` with nothing V8 treats as a call or a naming in between: the functions they carry
/// are named after what `e` is assigned to.
pub(crate) fn flowing_suspensions(e: &Expression<'_>, out: &mut std::collections::HashSet<u32>) {
    match e {
        Expression::AwaitExpression(a) => {
            out.insert(a.span.start);
            flowing_suspensions(&a.argument, out);
        }
        Expression::YieldExpression(y) => {
            out.insert(y.span.start);
            if let Some(arg) = &y.argument {
                flowing_suspensions(arg, out);
            }
        }
        Expression::ParenthesizedExpression(p) => flowing_suspensions(&p.expression, out),
        Expression::ConditionalExpression(c) => {
            flowing_suspensions(&c.test, out);
            flowing_suspensions(&c.consequent, out);
            flowing_suspensions(&c.alternate, out);
        }
        Expression::LogicalExpression(l) => {
            flowing_suspensions(&l.left, out);
            flowing_suspensions(&l.right, out);
        }
        Expression::BinaryExpression(b) => {
            flowing_suspensions(&b.left, out);
            flowing_suspensions(&b.right, out);
        }
        Expression::SequenceExpression(s) => s.expressions.iter().for_each(|x| flowing_suspensions(x, out)),
        Expression::UnaryExpression(u) => flowing_suspensions(&u.argument, out),
        Expression::ArrayExpression(a) => {
            for el in &a.elements {
                match el {
                    ArrayExpressionElement::SpreadElement(s) => flowing_suspensions(&s.argument, out),
                    other => {
                        if let Some(x) = other.as_expression() {
                            flowing_suspensions(x, out);
                        }
                    }
                }
            }
        }
        Expression::StaticMemberExpression(m) => flowing_suspensions(&m.object, out),
        Expression::TemplateLiteral(t) => t.expressions.iter().for_each(|x| flowing_suspensions(x, out)),
        _ => {}
    }
}

/// Whether `e` holds an object property or a class field (outside nested functions) that
/// V8 names a function after with the names of its context in front: `{ k: c ? () => {} : 0 }`
/// names the arrow `k` plain and `__nr$v.k` after `__nr$v=`.
fn names_inside(e: &Expression<'_>) -> bool {
    let mut scan = Naming(false);
    scan.visit_expression(e);
    scan.0
}

struct Naming(bool);

impl Naming {
    fn value(&mut self, v: &Expression<'_>) {
        if pending(v) > 0 && !super::names::is_anonymous_function_definition(v) {
            self.0 = true;
        }
    }
}

impl<'a> Visit<'a> for Naming {
    fn visit_function(&mut self, _it: &Function<'a>, _flags: ScopeFlags) {}
    fn visit_arrow_function_expression(&mut self, _it: &ArrowFunctionExpression<'a>) {}
    fn visit_object_property(&mut self, it: &ObjectProperty<'a>) {
        if it.kind == PropertyKind::Init && !it.method && !it.shorthand {
            self.value(&it.value);
        }
        oxc_ast_visit::walk::walk_object_property(self, it);
    }
    fn visit_property_definition(&mut self, it: &PropertyDefinition<'a>) {
        if let Some(v) = &it.value {
            self.value(v);
        }
        oxc_ast_visit::walk::walk_property_definition(self, it);
    }
}
