//! CommonJS re-export getters that Node's ESM loader must still recognize.
//!
//! When an ES module imports a CommonJS module, Node finds its named exports
//! with cjs-module-lexer, which accepts a getter in
//! `Object.defineProperty(exports, "name", { enumerable: true, get: function () { return m.name; } })`
//! (the form TypeScript and Babel emit for `export { name } from "./m"`)
//! only when its body is exactly `return <identifier or member chain>`. A
//! getter of another shape makes the name an "unsafe getter" and drops it
//! from the exports, so `import { name } from "cjs"` fails. Such getters are
//! left without probes.

use oxc_ast::ast::{Argument, CallExpression, Expression, Function, ObjectPropertyKind, PropertyKey, Statement};

/// The start offset of the getter function of a lexer-visible re-export in
/// `call`, if `call` is one.
pub fn getter_start(call: &CallExpression<'_>) -> Option<u32> {
    let Expression::StaticMemberExpression(callee) = &call.callee else { return None };
    if callee.property.name != "defineProperty"
        || !matches!(&callee.object, Expression::Identifier(o) if o.name == "Object")
    {
        return None;
    }
    let [target, Argument::StringLiteral(_), Argument::ObjectExpression(desc)] = call.arguments.as_slice() else {
        return None;
    };
    if !is_exports(target) {
        return None;
    }
    desc.properties.iter().find_map(|p| {
        let ObjectPropertyKind::ObjectProperty(p) = p else { return None };
        let PropertyKey::StaticIdentifier(k) = &p.key else { return None };
        if k.name != "get" {
            return None;
        }
        let Expression::FunctionExpression(f) = &p.value else { return None };
        returns_member_chain(f).then_some(f.span.start)
    })
}

fn is_exports(a: &Argument<'_>) -> bool {
    match a {
        Argument::Identifier(i) => i.name == "exports",
        Argument::StaticMemberExpression(m) => {
            m.property.name == "exports" && matches!(&m.object, Expression::Identifier(o) if o.name == "module")
        }
        _ => false,
    }
}

fn returns_member_chain(f: &Function<'_>) -> bool {
    if !f.params.items.is_empty() || f.params.rest.is_some() || f.r#async || f.generator {
        return false;
    }
    let Some(body) = &f.body else { return false };
    let [Statement::ReturnStatement(r)] = body.statements.as_slice() else { return false };
    let mut e = match &r.argument {
        Some(e) => e,
        None => return false,
    };
    loop {
        match e {
            Expression::Identifier(_) => return true,
            Expression::StaticMemberExpression(m) => e = &m.object,
            _ => return false,
        }
    }
}
