//! The `filter` object of metadata.json: the chain and its statistics.

use serde::{Deserialize, Serialize};

/// One file of the chain.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChainEntry {
    pub path: String,
    pub sha256: String,
    pub name: String,
    pub version: u32,
}

/// Counts per kind of value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct KindCounts {
    pub arg: u64,
    pub ret: u64,
    pub this: u64,
    pub attr: u64,
}

/// What the filters did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FilterStats {
    /// Distinct files instrumented.
    pub files_instrumented: u64,
    /// Distinct files not instrumented because the filters skip them.
    pub files_skipped: u64,
    /// Functions of instrumented files that got no probes because of a filter.
    pub functions_skipped: u64,
    /// Values recorded as `redacted` (counted when it happens).
    pub values_redacted: KindCounts,
    /// Values not recorded at all.
    pub values_dropped: KindCounts,
}

/// `metadata.json` → `filter`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FilterSummary {
    pub chain: Vec<ChainEntry>,
    pub stats: FilterStats,
}

impl super::model::Chain {
    /// The chain's files as metadata.json lists them.
    pub fn entries(&self) -> Vec<ChainEntry> {
        self.files
            .iter()
            .map(|f| ChainEntry {
                path: f.path.clone(),
                sha256: f.sha256.clone(),
                name: f.name.clone(),
                version: f.version,
            })
            .collect()
    }
}

impl FilterSummary {
    /// The summary of a chain before anything was recorded.
    pub fn of_chain(chain: &super::model::Chain) -> FilterSummary {
        FilterSummary { chain: chain.entries(), stats: FilterStats::default() }
    }

    /// As JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::engine::Engine;
    use crate::filter::loader::load_chain;

    #[test]
    fn summary_lists_the_chain_and_counts() {
        let chain = load_chain(&[]).unwrap_or_else(|e| panic!("{e}"));
        let e = Engine::new(chain, std::path::Path::new("/p"));
        e.note_skipped_file("/p/a.js");
        e.note_skipped_file("/p/a.js");
        e.note_instrumented_file("/p/b.js", 3);
        e.add_value_counts([1, 2, 3, 4], [0, 1, 0, 0]);
        let s = e.summary();
        assert_eq!(s.chain.len(), 1);
        assert_eq!(s.chain[0].name, "noderec-default");
        assert_eq!(s.chain[0].sha256.len(), 64);
        assert_eq!(s.stats.files_skipped, 1);
        assert_eq!(s.stats.files_instrumented, 1);
        assert_eq!(s.stats.functions_skipped, 3);
        assert_eq!(s.stats.values_redacted, KindCounts { arg: 1, ret: 2, this: 3, attr: 4 });
        let json = serde_json::to_value(&s).unwrap_or_default();
        assert_eq!(json["stats"]["values_dropped"]["ret"], 1);
        assert!(json["chain"][0]["path"].is_string());
    }
}
