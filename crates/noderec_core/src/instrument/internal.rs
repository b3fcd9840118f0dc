//! A package file's *internal* functions under `--scope project` (design-docs/probes.md,
//! *Scope*): function declarations that only the file's own functions call, by name.
//!
//! A package function's call is recorded only when the innermost recorded activation is
//! the project's own code. A function that is called only directly, by name, from the
//! body of another function of its file (or the file's top level) is always called while
//! that caller's probe has run: the innermost recorded activation is then a package
//! function, or nothing, and the call is never recorded. Such a function gets no probes
//! at all (it keeps its table entry), which records the same events.
//!
//! Conservative, by name over the whole file: a function declaration `function f() {}`
//! (not async, not a generator) is internal when every reference to the name `f`
//! anywhere in the file is the callee of a call `f(...)` outside any parameter list (a
//! default value runs before its function's call probe) and outside the bodies of async
//! functions, generators and an ES module's top level (a generator skipped at its call
//! runs, once resumed by the project's `next()`, with the project's frame innermost). Any other use (passed,
//! assigned, exported, `f.call`, `new f`, `typeof f`, a shadowing binding used as a
//! value) makes every declaration of that name non-internal. A sloppy function (not in an
//! ES module, a class, or under a `"use strict"` directive of the file or of an enclosing
//! function) that reads `arguments` (or holds a function that does) keeps its probes:
//! `arguments.callee` hands it out. What stays reachable: a sloppy function is the
//! `caller` of the functions it calls, and `getFunction()` of its frame's call site in
//! `Error.prepareStackTrace`; project code that calls a function it got that way is
//! not recorded (README, *Known differences*). A direct `eval`
//! or a `with` statement anywhere turns it off for the file. The caller
//! (`Instrumenter::run`) also turns it off when another function of the file gets no
//! probes (a filter rule, a body that cannot be wrapped, a loader's helper): such a
//! function's call of `f` would have no probe in front of it.

use std::collections::{HashMap, HashSet};

use oxc_ast::ast::{
    ArrowFunctionExpression, CallExpression, Class, Declaration, ExportDeclaration, ExportDefaultDeclaration,
    ExportDefaultDeclarationKind, ExportSpecifier, Expression, FormalParameters, Function, FunctionType,
    IdentifierReference, ModuleExportName, Program, WithStatement,
};
use oxc_ast_visit::{walk, Visit};
use oxc_syntax::scope::ScopeFlags;

use super::ModuleKind;

#[derive(Default)]
struct Scan {
    /// Candidate declarations: name -> their start offsets.
    decls: HashMap<String, Vec<u32>>,
    /// Names used other than as a direct callee.
    escaped: HashSet<String>,
    /// Whether the code being walked is strict.
    strict: bool,
    /// The sloppy candidates being walked.
    sloppy: Vec<u32>,
    /// Sloppy candidates that read `arguments` (themselves or a nested function).
    uses_arguments: HashSet<u32>,
    /// Whether the body being walked may run after a suspension (an async function, a
    /// generator, an ES module's top level): a generator skipped at its call and resumed
    /// by the project's `next()` runs with the project's frame innermost.
    suspending: bool,
    /// Depth of parameter lists being walked.
    in_params: u32,
    off: bool,
}

impl<'a> Visit<'a> for Scan {
    fn visit_function(&mut self, it: &Function<'a>, flags: ScopeFlags) {
        let outer = self.strict;
        self.strict |= it.body.as_ref().is_some_and(|b| b.directives.iter().any(|d| d.directive == "use strict"));
        let mut sloppy = false;
        if let (FunctionType::FunctionDeclaration, Some(id), false, false) =
            (it.r#type, &it.id, it.r#async, it.generator)
        {
            self.decls.entry(id.name.as_str().to_string()).or_default().push(it.span.start);
            sloppy = !self.strict;
        }
        if sloppy {
            self.sloppy.push(it.span.start);
        }
        let outer_suspending = std::mem::replace(&mut self.suspending, it.r#async || it.generator);
        walk::walk_function(self, it, flags);
        self.suspending = outer_suspending;
        if sloppy {
            self.sloppy.pop();
        }
        self.strict = outer;
    }

    fn visit_arrow_function_expression(&mut self, it: &ArrowFunctionExpression<'a>) {
        let outer = self.strict;
        self.strict |=
            it.body.as_function_body().is_some_and(|b| b.directives.iter().any(|d| d.directive == "use strict"));
        let outer_suspending = std::mem::replace(&mut self.suspending, it.r#async);
        walk::walk_arrow_function_expression(self, it);
        self.suspending = outer_suspending;
        self.strict = outer;
    }

    fn visit_class(&mut self, it: &Class<'a>) {
        let outer = self.strict;
        self.strict = true;
        walk::walk_class(self, it);
        self.strict = outer;
    }

    fn visit_formal_parameters(&mut self, it: &FormalParameters<'a>) {
        self.in_params += 1;
        walk::walk_formal_parameters(self, it);
        self.in_params -= 1;
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        if let Expression::Identifier(id) = &it.callee {
            if id.name == "eval" {
                self.off = true;
            }
            if self.in_params == 0 && !self.suspending {
                // A direct call by name: not a use of the value.
                if let Some(t) = &it.type_arguments {
                    self.visit_ts_type_parameter_instantiation(t);
                }
                for a in &it.arguments {
                    self.visit_argument(a);
                }
                return;
            }
        }
        walk::walk_call_expression(self, it);
    }

    fn visit_identifier_reference(&mut self, it: &IdentifierReference<'a>) {
        if it.name == "eval" {
            self.off = true;
        }
        if it.name == "arguments" {
            // `arguments.callee` is the sloppy function itself.
            self.uses_arguments.extend(self.sloppy.iter().copied());
        }
        self.escaped.insert(it.name.as_str().to_string());
    }

    fn visit_export_declaration(&mut self, it: &ExportDeclaration<'a>) {
        if let Declaration::FunctionDeclaration(f) = &it.declaration {
            if let Some(id) = &f.id {
                self.escaped.insert(id.name.as_str().to_string());
            }
        }
        walk::walk_export_declaration(self, it);
    }

    fn visit_export_default_declaration(&mut self, it: &ExportDefaultDeclaration<'a>) {
        if let ExportDefaultDeclarationKind::FunctionDeclaration(f) = &it.declaration {
            if let Some(id) = &f.id {
                self.escaped.insert(id.name.as_str().to_string());
            }
        }
        walk::walk_export_default_declaration(self, it);
    }

    fn visit_export_specifier(&mut self, it: &ExportSpecifier<'a>) {
        match &it.local {
            ModuleExportName::IdentifierName(n) => self.escaped.insert(n.name.as_str().to_string()),
            ModuleExportName::IdentifierReference(n) => self.escaped.insert(n.name.as_str().to_string()),
            ModuleExportName::StringLiteral(n) => self.escaped.insert(n.value.as_str().to_string()),
        };
        walk::walk_export_specifier(self, it);
    }

    fn visit_with_statement(&mut self, it: &WithStatement<'a>) {
        self.off = true;
        walk::walk_with_statement(self, it);
    }
}

/// The start offsets of the internal function declarations of `program` (see the module
/// documentation).
pub(crate) fn internal_functions(program: &Program<'_>, kind: ModuleKind) -> HashSet<u32> {
    let strict = kind == ModuleKind::Module || program.directives.iter().any(|d| d.directive == "use strict");
    let mut scan = Scan { strict, suspending: kind == ModuleKind::Module, ..Scan::default() };
    scan.visit_program(program);
    if scan.off {
        return HashSet::new();
    }
    let mut out = HashSet::new();
    for (name, starts) in scan.decls {
        if !scan.escaped.contains(&name) {
            out.extend(starts.into_iter().filter(|s| !scan.uses_arguments.contains(s)));
        }
    }
    out
}
