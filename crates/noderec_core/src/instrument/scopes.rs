//! Whether wrapping a body's statements in `try{...}` would make it invalid.
//!
//! At the top level of a function body (or static block) a function declaration is
//! var-scoped; inside a block it is lexical. So `var g; function g() {}` and two
//! declarations of one function name are fine in a body but a SyntaxError in a block.
//! Such bodies are left without probes (rare, mostly old sloppy code).

use oxc_ast::ast::{ForStatementInit, ForStatementLeft, Statement, VariableDeclaration, VariableDeclarationKind};

use super::names::push_bound_names;

/// True when the statements cannot be moved into a block unchanged.
pub(crate) fn wrapping_breaks(statements: &[Statement<'_>]) -> bool {
    let mut functions: Vec<&str> = Vec::new();
    for stmt in statements {
        if let Some(name) = top_level_function_name(stmt) {
            functions.push(name);
        }
    }
    if functions.is_empty() {
        return false;
    }
    let mut sorted = functions.clone();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return true;
    }
    let mut vars = Vec::new();
    for stmt in statements {
        var_names(stmt, &mut vars);
    }
    vars.iter().any(|v| sorted.binary_search(&v.as_str()).is_ok())
}

fn top_level_function_name<'a>(stmt: &Statement<'a>) -> Option<&'a str> {
    match stmt {
        Statement::FunctionDeclaration(f) => f.id.as_ref().map(|id| id.name.as_str()),
        Statement::LabeledStatement(l) => top_level_function_name(&l.body),
        _ => None,
    }
}

/// `var` names declared by a statement, not descending into functions or classes.
fn var_names(stmt: &Statement<'_>, out: &mut Vec<String>) {
    match stmt {
        Statement::VariableDeclaration(d) => push_var(d, out),
        Statement::BlockStatement(b) => b.body.iter().for_each(|s| var_names(s, out)),
        Statement::IfStatement(s) => {
            var_names(&s.consequent, out);
            if let Some(alt) = &s.alternate {
                var_names(alt, out);
            }
        }
        Statement::ForStatement(s) => {
            if let Some(ForStatementInit::VariableDeclaration(d)) = &s.init {
                push_var(d, out);
            }
            var_names(&s.body, out);
        }
        Statement::ForInStatement(s) => {
            if let ForStatementLeft::VariableDeclaration(d) = &s.left {
                push_var(d, out);
            }
            var_names(&s.body, out);
        }
        Statement::ForOfStatement(s) => {
            if let ForStatementLeft::VariableDeclaration(d) = &s.left {
                push_var(d, out);
            }
            var_names(&s.body, out);
        }
        Statement::WhileStatement(s) => var_names(&s.body, out),
        Statement::DoWhileStatement(s) => var_names(&s.body, out),
        Statement::LabeledStatement(s) => var_names(&s.body, out),
        Statement::WithStatement(s) => var_names(&s.body, out),
        Statement::SwitchStatement(s) => {
            s.cases.iter().flat_map(|c| c.consequent.iter()).for_each(|st| var_names(st, out));
        }
        Statement::TryStatement(s) => {
            s.block.body.iter().for_each(|st| var_names(st, out));
            if let Some(h) = &s.handler {
                h.body.body.iter().for_each(|st| var_names(st, out));
            }
            if let Some(f) = &s.finalizer {
                f.body.iter().for_each(|st| var_names(st, out));
            }
        }
        _ => {}
    }
}

fn push_var(d: &VariableDeclaration<'_>, out: &mut Vec<String>) {
    if d.kind == VariableDeclarationKind::Var {
        for decl in &d.declarations {
            push_bound_names(&decl.id, out);
        }
    }
}
