//! Paths into recorded values and structural diffs between two values, on
//! the JSON form of `design-docs/values.md` (objects are
//! `{"$":"object","props":{..}}`, maps `{"$":"map","entries":[[k,v]..]}`,
//! arrays plain or `{"$":"array","items":[..]}` when cut).

use serde::Serialize;
use serde_json::Value;

/// One difference between two values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Where, as dotted segments from the compared value (`""` = the value itself).
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub op: &'static str,
    /// The value before (absent for `added`).
    pub before: Option<Value>,
    /// The value after (absent for `removed`).
    pub after: Option<Value>,
}

/// The members of a container value, keyed, or `None` for a leaf.
fn members(v: &Value) -> Option<Vec<(String, &Value)>> {
    match v {
        Value::Array(a) => Some(a.iter().enumerate().map(|(i, x)| (i.to_string(), x)).collect()),
        Value::Object(o) => match o.get("$").and_then(Value::as_str) {
            Some("object") => {
                o.get("props").and_then(Value::as_object).map(|p| p.iter().map(|(k, x)| (k.clone(), x)).collect())
            }
            Some("array") => o
                .get("items")
                .and_then(Value::as_array)
                .map(|a| a.iter().enumerate().map(|(i, x)| (i.to_string(), x)).collect()),
            Some("set") => o
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().enumerate().map(|(i, x)| (i.to_string(), x)).collect()),
            Some("map") => o.get("entries").and_then(Value::as_array).map(|es| {
                es.iter()
                    .filter_map(|e| {
                        let pair = e.as_array()?;
                        let k = match pair.first()? {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        Some((k, pair.get(1)?))
                    })
                    .collect()
            }),
            Some(_) => None,
            None => Some(o.iter().map(|(k, x)| (k.clone(), x)).collect()),
        },
        _ => None,
    }
}

/// The member `seg` of `v`.
pub fn member<'a>(v: &'a Value, seg: &str) -> Option<&'a Value> {
    members(v)?.into_iter().find(|(k, _)| k == seg).map(|(_, x)| x)
}

/// The value at a dotted path below `v` (empty path = `v`).
pub fn pick<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').filter(|s| !s.is_empty()).try_fold(v, member)
}

fn join(base: &str, k: &str) -> String {
    if base.is_empty() {
        k.to_string()
    } else {
        format!("{base}.{k}")
    }
}

/// What changed from `a` to `b`, by path, at most `limit` changes.
pub fn diff(a: &Value, b: &Value, limit: usize) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", a, b, &mut out, limit);
    out
}

fn same_kind(a: &Value, b: &Value) -> bool {
    let tag = |v: &Value| match v {
        Value::Array(_) => "array".to_string(),
        Value::Object(o) => o.get("$").and_then(Value::as_str).unwrap_or("plain").to_string(),
        _ => "leaf".to_string(),
    };
    let class = |v: &Value| v.as_object().and_then(|o| o.get("class")).cloned();
    tag(a) == tag(b) && class(a) == class(b)
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<Change>, limit: usize) {
    if out.len() >= limit || a == b {
        return;
    }
    match (members(a), members(b)) {
        (Some(ma), Some(mb)) if same_kind(a, b) => {
            for (k, va) in &ma {
                match mb.iter().find(|(kb, _)| kb == k) {
                    Some((_, vb)) => walk(&join(path, k), va, vb, out, limit),
                    None => {
                        if out.len() < limit {
                            out.push(Change {
                                path: join(path, k),
                                op: "removed",
                                before: Some((*va).clone()),
                                after: None,
                            });
                        }
                    }
                }
            }
            for (k, vb) in &mb {
                if !ma.iter().any(|(ka, _)| ka == k) && out.len() < limit {
                    out.push(Change { path: join(path, k), op: "added", before: None, after: Some((*vb).clone()) });
                }
            }
        }
        _ => {
            out.push(Change { path: path.to_string(), op: "changed", before: Some(a.clone()), after: Some(b.clone()) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diffs_objects_by_path() {
        let a = json!({"$":"object","class":"Cart","props":{"items":[1,2],"total":3,"gone":true}});
        let b = json!({"$":"object","class":"Cart","props":{"items":[1,2,5],"total":8,"new":"x"}});
        let d = diff(&a, &b, 100);
        let got: Vec<(String, &str)> = d.iter().map(|c| (c.path.clone(), c.op)).collect();
        assert_eq!(
            got,
            vec![
                ("gone".to_string(), "removed"),
                ("items.2".to_string(), "added"),
                ("total".to_string(), "changed"),
                ("new".to_string(), "added"),
            ]
        );
        assert!(diff(&a, &a, 100).is_empty());
        assert_eq!(pick(&a, "items.1"), Some(&json!(2)));
        assert_eq!(diff(&json!(1), &json!("1"), 10)[0].op, "changed");
    }
}
