//! istanbul's coverage counters (design-docs/decisions.md 59): the function that
//! istanbul-lib-instrument (babel-plugin-istanbul under jest `--coverage`, nyc, any tool
//! built on it) puts into every file it instruments, and calls at every statement
//! (`cov_1xdoqvbrp2().s[3]++`), is the coverage tool's, not the program's: it gets no
//! probes (it keeps its table entry). Recognised by the exact shape of the code
//! istanbul generates, not by its name alone:
//!
//! ```js
//! function cov_<base 36>() {
//!   var path = "…"; var hash = "…";
//!   [var Function = (function () {}).constructor;]
//!   var global = new Function("return this")();   // or an expression (`this`)
//!   var gcv = "__coverage__"; var coverageData = { …data… };
//!   var coverage = global[gcv] || (global[gcv] = {});
//!   if (!coverage[path] || coverage[path].hash !== hash) { coverage[path] = coverageData; }
//!   var actualCoverage = coverage[path];
//!   { cov_<base 36> = function () { return actualCoverage; }; }
//!   return actualCoverage;
//! }
//! ```
//!
//! (istanbul-lib-instrument 5 and 6; `const` in some forks), whose second function, the one
//! called at every statement once the first call has replaced the name, gets no probes
//! either; and the forms of versions 1 to 4, which end
//! `if (coverage[path] && coverage[path].hash === hash) { return coverage[path]; }
//! [coverageData.hash = hash;] return coverage[path] = coverageData;`: a declaration
//! `function cov_…() {…}` (4), or an unnamed function called once,
//! `var cov_… = (function () {…})();` with one `var` of all the names (1 to 3).
//! `coverageData` must be data only (literals, objects, arrays): no code of the program
//! can hide in a function without probes.

use oxc_ast::ast::{
    ArrayExpressionElement, AssignmentTarget, BinaryOperator, BindingPattern, Expression, Function, FunctionType,
    LogicalOperator, ObjectPropertyKind, PropertyKey, PropertyKind, Statement, UnaryOperator,
};

/// When `f` is istanbul's counter function, `Some` with the start offset of the function
/// it assigns to its own name (istanbul-lib-instrument 5 and later; `None` before).
/// Cheap for any other function: the first statement decides.
pub(crate) fn counter_function(f: &Function<'_>) -> Option<Option<u32>> {
    if f.r#async || f.generator || !f.params.items.is_empty() || f.params.rest.is_some() || f.this_param.is_some() {
        return None;
    }
    let name = match (f.r#type, &f.id) {
        (FunctionType::FunctionDeclaration, Some(id)) => Some(id.name.as_str()),
        (FunctionType::FunctionExpression, None) => None,
        _ => return None,
    };
    if name.is_some_and(|n| !is_counter_name(n)) {
        return None;
    }
    let body = f.body.as_ref()?;
    if !body.directives.is_empty() {
        return None;
    }
    let statements = &body.statements;
    // The leading declarations, in order.
    let mut declared = 0;
    let mut names: Vec<(&str, Option<&Expression<'_>>)> = Vec::with_capacity(8);
    for s in statements.iter() {
        let Statement::VariableDeclaration(d) = s else { break };
        for v in &d.declarations {
            let BindingPattern::BindingIdentifier(id) = &v.id else { return None };
            names.push((id.name.as_str(), v.init.as_ref()));
        }
        declared += 1;
        if names.len() > 7 {
            return None;
        }
    }
    if !leading_declarations(&names) {
        return None;
    }
    let rest = &statements[declared..];
    match name {
        // istanbul-lib-instrument 5 and later.
        Some(name) if rest.len() == 4 => {
            let inner = latest_tail(rest, name)?;
            Some(Some(inner))
        }
        // 1 to 4: a declaration (4) or the function of `var cov_… = (function () {…})()`.
        _ if (2..=3).contains(&rest.len()) && older_tail(rest) => Some(None),
        _ => None,
    }
}

/// `cov_` and base-36 digits (istanbul-lib-instrument's `genVar`).
fn is_counter_name(name: &str) -> bool {
    name.strip_prefix("cov_")
        .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()))
}

/// `path`, `hash`, [`Function`], `global`, `gcv`, `coverageData`, `coverage`, with the
/// values istanbul gives them.
fn leading_declarations(names: &[(&str, Option<&Expression<'_>>)]) -> bool {
    const PLAIN: [&str; 6] = ["path", "hash", "global", "gcv", "coverageData", "coverage"];
    const ALTERED: [&str; 7] = ["path", "hash", "Function", "global", "gcv", "coverageData", "coverage"];
    let altered = names.get(2).is_some_and(|(n, _)| *n == "Function");
    let expected: &[&str] = if altered { &ALTERED } else { &PLAIN };
    if names.len() != expected.len() || names.iter().zip(expected).any(|((n, _), w)| n != w) {
        return false;
    }
    let init = |i: usize| names[i + usize::from(altered && i >= 2)].1;
    // `(function () {}).constructor`: the function is empty, it runs nothing.
    let function = !altered
        || names[2].1.is_some_and(|e| match e.without_parentheses() {
            Expression::StaticMemberExpression(m) => {
                m.property.name == "constructor"
                    && matches!(m.object.without_parentheses(), Expression::FunctionExpression(f)
                        if f.params.items.is_empty() && f.body.as_ref().is_some_and(|b| b.statements.is_empty()))
            }
            _ => false,
        });
    let global = init(2).is_some_and(|e| match e.without_parentheses() {
        // `new Function("return this")()`
        Expression::CallExpression(c) => {
            c.arguments.is_empty()
                && matches!(c.callee.without_parentheses(), Expression::NewExpression(n)
                    if n.callee.is_specific_id("Function") && n.arguments.len() == 1
                        && n.arguments[0].as_expression().is_some_and(is_string))
        }
        // `coverageGlobalScope` as a variable: `this`, `window`, `globalThis.x`.
        Expression::ThisExpression(_) | Expression::Identifier(_) => true,
        Expression::StaticMemberExpression(m) => {
            matches!(m.object.without_parentheses(), Expression::Identifier(_) | Expression::ThisExpression(_))
        }
        _ => false,
    });
    // `global[gcv] || (global[gcv] = {})`
    let coverage = init(5).is_some_and(|e| match e {
        Expression::LogicalExpression(l) => {
            is_member(&l.left, "global", "gcv")
                && matches!(l.right.without_parentheses(), Expression::AssignmentExpression(a)
                    if matches!(&a.right, Expression::ObjectExpression(o) if o.properties.is_empty()))
        }
        _ => false,
    });
    function
        && global
        && coverage
        && init(0).is_some_and(is_string)
        && init(1).is_some_and(is_string)
        && init(3).is_some_and(is_string)
        && init(4).is_some_and(is_data)
}

/// `if (…) { coverage[path] = coverageData; } var actualCoverage = coverage[path];
/// { NAME = function () { return actualCoverage; }; } return actualCoverage;` — the start
/// of the inner function.
fn latest_tail(rest: &[Statement<'_>], name: &str) -> Option<u32> {
    let Statement::IfStatement(i) = &rest[0] else { return None };
    if i.alternate.is_some() || !simple_block(&i.consequent) || !hash_condition(&i.test, false) {
        return None;
    }
    let Statement::VariableDeclaration(d) = &rest[1] else { return None };
    let [v] = d.declarations.as_slice() else { return None };
    let BindingPattern::BindingIdentifier(id) = &v.id else { return None };
    if id.name != "actualCoverage" || !v.init.as_ref().is_some_and(|e| is_member(e, "coverage", "path")) {
        return None;
    }
    let assign = match &rest[2] {
        Statement::BlockStatement(b) => match b.body.as_slice() {
            [Statement::ExpressionStatement(e)] => &e.expression,
            _ => return None,
        },
        Statement::ExpressionStatement(e) => &e.expression,
        _ => return None,
    };
    let Expression::AssignmentExpression(a) = assign else { return None };
    let AssignmentTarget::AssignmentTargetIdentifier(target) = &a.left else { return None };
    if target.name != name {
        return None;
    }
    let Expression::FunctionExpression(inner) = a.right.without_parentheses() else { return None };
    let returns_actual = |s: &Statement<'_>| matches!(s, Statement::ReturnStatement(r) if r.argument.as_ref().is_some_and(|e| e.is_specific_id("actualCoverage")));
    let simple_inner = inner.id.is_none()
        && !inner.r#async
        && !inner.generator
        && inner.params.items.is_empty()
        && inner.params.rest.is_none()
        && inner
            .body
            .as_ref()
            .is_some_and(|b| b.directives.is_empty() && matches!(b.statements.as_slice(), [s] if returns_actual(s)));
    if !simple_inner || !returns_actual(&rest[3]) {
        return None;
    }
    Some(inner.span.start)
}

/// `if (coverage[path] && coverage[path].hash === hash) { return coverage[path]; }
/// [coverageData.hash = hash;] return coverage[path] = coverageData;`
fn older_tail(rest: &[Statement<'_>]) -> bool {
    let Statement::IfStatement(i) = &rest[0] else { return false };
    if i.alternate.is_some() || !simple_block(&i.consequent) || !hash_condition(&i.test, true) {
        return false;
    }
    if rest.len() == 3 {
        let Statement::ExpressionStatement(e) = &rest[1] else { return false };
        let Expression::AssignmentExpression(a) = &e.expression else { return false };
        let target = match &a.left {
            AssignmentTarget::StaticMemberExpression(m) => {
                m.object.is_specific_id("coverageData") && m.property.name == "hash"
            }
            _ => false,
        };
        if !target || !a.right.is_specific_id("hash") {
            return false;
        }
    }
    let Some(Statement::ReturnStatement(r)) = rest.last() else { return false };
    matches!(r.argument.as_ref().map(Expression::without_parentheses), Some(Expression::AssignmentExpression(a))
        if a.right.is_specific_id("coverageData")
            && matches!(&a.left, AssignmentTarget::ComputedMemberExpression(m)
                if m.object.is_specific_id("coverage") && m.expression.is_specific_id("path")))
}

/// A block of one statement that assigns or returns data already named, or the statement
/// itself: `{ coverage[path] = coverageData; }`, `{ return coverage[path]; }`.
fn simple_block(s: &Statement<'_>) -> bool {
    let one = match s {
        Statement::BlockStatement(b) => match b.body.as_slice() {
            [s] => s,
            _ => return false,
        },
        s => s,
    };
    match one {
        Statement::ReturnStatement(r) => r.argument.as_ref().is_some_and(|e| is_member(e, "coverage", "path")),
        Statement::ExpressionStatement(e) => matches!(&e.expression, Expression::AssignmentExpression(a)
            if a.right.is_specific_id("coverageData")
                && matches!(&a.left, AssignmentTarget::ComputedMemberExpression(m)
                    if m.object.is_specific_id("coverage") && m.expression.is_specific_id("path"))),
        _ => false,
    }
}

/// `object[property]` with two identifiers.
/// istanbul's condition: `!coverage[path] || coverage[path].hash !== hash` (5 and later),
/// `coverage[path] && coverage[path].hash === hash` (`older`: 4 and before).
fn hash_condition(e: &Expression<'_>, older: bool) -> bool {
    let Expression::LogicalExpression(l) = e.without_parentheses() else { return false };
    let (logical, equality) = if older {
        (LogicalOperator::And, BinaryOperator::StrictEquality)
    } else {
        (LogicalOperator::Or, BinaryOperator::StrictInequality)
    };
    if l.operator != logical {
        return false;
    }
    let first = if older {
        is_member(&l.left, "coverage", "path")
    } else {
        matches!(l.left.without_parentheses(), Expression::UnaryExpression(u)
            if u.operator == UnaryOperator::LogicalNot && is_member(&u.argument, "coverage", "path"))
    };
    first
        && matches!(l.right.without_parentheses(), Expression::BinaryExpression(b)
            if b.operator == equality
                && b.right.is_specific_id("hash")
                && matches!(b.left.without_parentheses(), Expression::StaticMemberExpression(m)
                    if m.property.name == "hash" && is_member(&m.object, "coverage", "path")))
}

fn is_member(e: &Expression<'_>, object: &str, property: &str) -> bool {
    matches!(e.without_parentheses(), Expression::ComputedMemberExpression(m)
        if m.object.is_specific_id(object) && m.expression.is_specific_id(property))
}

fn is_string(e: &Expression<'_>) -> bool {
    matches!(e.without_parentheses(), Expression::StringLiteral(_))
}

/// Literals, objects of plain properties and arrays of them (babel's `valueToNode` of the
/// coverage data): nothing that runs code. Walked with a stack (the data can be large).
fn is_data(e: &Expression<'_>) -> bool {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            Expression::StringLiteral(_)
            | Expression::NumericLiteral(_)
            | Expression::BooleanLiteral(_)
            | Expression::NullLiteral(_) => {}
            Expression::Identifier(id) if id.name == "undefined" => {}
            Expression::UnaryExpression(u)
                if u.operator == UnaryOperator::UnaryNegation
                    && matches!(u.argument, Expression::NumericLiteral(_)) => {}
            Expression::ArrayExpression(a) => {
                for el in &a.elements {
                    match el {
                        ArrayExpressionElement::Elision(_) => {}
                        ArrayExpressionElement::SpreadElement(_) => return false,
                        el => stack.push(el.to_expression()),
                    }
                }
            }
            Expression::ObjectExpression(o) => {
                for p in &o.properties {
                    let ObjectPropertyKind::ObjectProperty(p) = p else { return false };
                    let plain_key = matches!(
                        p.key,
                        PropertyKey::StaticIdentifier(_)
                            | PropertyKey::StringLiteral(_)
                            | PropertyKey::NumericLiteral(_)
                    );
                    if p.computed || p.method || p.kind != PropertyKind::Init || !plain_key {
                        return false;
                    }
                    stack.push(&p.value);
                }
            }
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxc_allocator::Allocator;
    use oxc_ast::ast::Program;
    use oxc_ast_visit::{walk, Visit};
    use oxc_parser::Parser;
    use oxc_span::SourceType;
    use oxc_syntax::scope::ScopeFlags;

    /// The names (or `<fn>`) of the functions of `source` found to be counters, and the
    /// inner functions they name.
    fn found(source: &str) -> (Vec<String>, usize) {
        let allocator = Allocator::default();
        let parsed = Parser::new(&allocator, source, SourceType::cjs()).parse();
        assert!(parsed.diagnostics.errors().next().is_none(), "{source}");
        struct V(Vec<String>, usize);
        impl<'a> Visit<'a> for V {
            fn visit_function(&mut self, f: &Function<'a>, flags: ScopeFlags) {
                if let Some(inner) = counter_function(f) {
                    self.0.push(f.id.as_ref().map_or("<fn>".to_string(), |id| id.name.to_string()));
                    self.1 += usize::from(inner.is_some());
                }
                walk::walk_function(self, f, flags);
            }
        }
        let mut v = V(Vec::new(), 0);
        v.visit_program(&parsed.program as &Program<'_>);
        (v.0, v.1)
    }

    /// What babel prints for istanbul-lib-instrument 6 (jest 30, babel-plugin-istanbul 7).
    const V6: &str = r#""use strict";
function cov_tywyf5vcl() {
  var path = "/p/src/calc.ts";
  var hash = "2698ec9cdfd6b0ddb1905a0c7d8baffd7cd63e44";
  var global = new Function("return this")();
  var gcv = "__coverage__";
  var coverageData = {
    path: "/p/src/calc.ts",
    statementMap: { "0": { start: { line: 9, column: 23 }, end: { line: 9, column: 44 } } },
    fnMap: {}, branchMap: { "0": { locations: [{}, {}], type: "if", line: 3 } },
    s: { "0": 0 }, f: {}, b: { "0": [0, 0] },
    inputSourceMap: { version: 3, names: [], sources: ["a.ts"], file: undefined, x: -1, y: null, z: true },
    _coverageSchema: "1a1c01bbd47fc00a2c39e90264f33305004495a9",
    hash: "2698ec9cdfd6b0ddb1905a0c7d8baffd7cd63e44"
  };
  var coverage = global[gcv] || (global[gcv] = {});
  if (!coverage[path] || coverage[path].hash !== hash) {
    coverage[path] = coverageData;
  }
  var actualCoverage = coverage[path];
  {
    // @ts-ignore
    cov_tywyf5vcl = function () {
      return actualCoverage;
    };
  }
  return actualCoverage;
}
cov_tywyf5vcl();
function lineTotal(line) {
  cov_tywyf5vcl().f[0]++;
  return line;
}
"#;

    #[test]
    fn istanbul_6_counter_and_its_replacement() {
        assert_eq!(found(V6), (vec!["cov_tywyf5vcl".to_string()], 1));
    }

    #[test]
    fn istanbul_variants() {
        // A program binding `Function`: istanbul takes the constructor first.
        let altered = V6.replace(
            "var global = new Function",
            "var Function = (function () {}).constructor;\n  var global = new Function",
        );
        assert_eq!(found(&altered).0, vec!["cov_tywyf5vcl"]);
        // `coverageGlobalScopeFunc: false`.
        let variable = V6.replace("var global = new Function(\"return this\")();", "var global = this;");
        assert_eq!(found(&variable).0, vec!["cov_tywyf5vcl"]);
        // `const` (a fork's template), the block left out by a later transform.
        let consts =
            V6.replace("  var ", "  const ").replace("{\n    // @ts-ignore\n", "").replace("    };\n  }\n", "    };\n");
        assert_eq!(found(&consts), (vec!["cov_tywyf5vcl".to_string()], 1));
    }

    #[test]
    fn istanbul_4_and_older() {
        let v4 = r#"function cov_2k3() {
  var path = "/p/a.js";
  var hash = "ab";
  var global = new Function("return this")();
  var gcv = "__coverage__";
  var coverageData = { path: "/p/a.js", s: { "0": 0 } };
  var coverage = global[gcv] || (global[gcv] = {});
  if (coverage[path] && coverage[path].hash === hash) {
    return coverage[path];
  }
  return coverage[path] = coverageData;
}"#;
        assert_eq!(found(v4), (vec!["cov_2k3".to_string()], 0));
        let v1 = r#"var cov_2k3 = function () {
  var path = "/p/a.js",
      hash = "ab",
      Function = function () {}.constructor,
      global = new Function('return this')(),
      gcv = "__coverage__",
      coverageData = { path: "/p/a.js", s: { "0": 0 } },
      coverage = global[gcv] || (global[gcv] = {});
  if (coverage[path] && coverage[path].hash === hash) {
    return coverage[path];
  }
  coverageData.hash = hash;
  return coverage[path] = coverageData;
}();"#;
        assert_eq!(found(v1), (vec!["<fn>".to_string()], 0));
        // Not istanbul's condition (review59).
        let cond = v4.replace("coverage[path].hash === hash)", "log())");
        assert_eq!(found(&cond).0, Vec::<String>::new());
        let cond = v4.replace("coverage[path] && coverage", "coverage[path] || coverage");
        assert_eq!(found(&cond).0, Vec::<String>::new());
    }

    #[test]
    fn the_program_s_own_functions_are_not_counters() {
        // The name alone is not enough.
        assert_eq!(found("function cov_abc() { return 1; }").0, Vec::<String>::new());
        // Code where istanbul has data.
        let code = V6.replace("s: { \"0\": 0 },", "s: { \"0\": 0, g: (() => 1)() },");
        assert_eq!(found(&code).0, Vec::<String>::new());
        let getter = V6.replace("s: { \"0\": 0 },", "s: { get x() { return 1; } },");
        assert_eq!(found(&getter).0, Vec::<String>::new());
        // A statement more.
        let more = V6.replace("  return actualCoverage;\n}", "  log();\n  return actualCoverage;\n}");
        assert_eq!(found(&more).0, Vec::<String>::new());
        // The replacement does more than return the data.
        let inner = V6.replace("      return actualCoverage;", "      log();\n      return actualCoverage;");
        assert_eq!(found(&inner).0, Vec::<String>::new());
        // Another name replaced.
        let other = V6.replace("    cov_tywyf5vcl = function", "    other = function");
        assert_eq!(found(&other).0, Vec::<String>::new());
        // Not istanbul's global.
        let global = V6.replace("new Function(\"return this\")()", "load()");
        assert_eq!(found(&global).0, Vec::<String>::new());
        // Not istanbul's condition (review59): the `if` runs code of its own.
        let cond = V6.replace("coverage[path].hash !== hash)", "log())");
        assert_eq!(found(&cond).0, Vec::<String>::new());
        let cond = V6.replace("coverage[path].hash !== hash)", "coverage[path].hash !== log())");
        assert_eq!(found(&cond).0, Vec::<String>::new());
        let cond = V6.replace("!coverage[path] ||", "!coverage[path] &&");
        assert_eq!(found(&cond).0, Vec::<String>::new());
        // Upper case is not base 36 as istanbul writes it; a parameter.
        assert_eq!(found(&V6.replace("cov_tywyf5vcl", "cov_Tywyf5vcl")).0, Vec::<String>::new());
        assert_eq!(found(&V6.replace("function cov_tywyf5vcl()", "function cov_tywyf5vcl(a)")).0, Vec::<String>::new());
    }
}
