//! The matchers behind noderec's filter selectors, a stage with its own
//! tests: `glob` compiles globs with picomatch's semantics (its conformance
//! suite is the picomatch comparison over `test/fixtures/filter-glob`), and
//! `jsregex` matches the JavaScript regular expressions those globs and
//! `regex:` selectors compile to (parsed by `oxc_regular_expression`, matched
//! by `regex-lite` or `regress`). No dependency on the rest of noderec.

pub mod glob;
pub mod jsregex;
