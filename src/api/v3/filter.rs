//! Ahrefs API v3's `where`: a JSON boolean filter (`and`/`or`/`not` over
//! `{"field", "is": condition}` and `{"field", "list_is": {"any"|"all": …}}`), parsed into a
//! typed tree and tested on answer items. Conditions: `eq neq gt gte lt lte substring
//! isubstring phrase_match iphrase_match prefix suffix regex` with a value, and `empty`,
//! `is_null`. A field's name must be one the endpoint answers; `modifier` (`uppercase`,
//! `lowercase`, `length`) applies before the test.

use regex::Regex;
use serde_json::Value as J;
use std::cmp::Ordering;

/// A parsed `where`.
#[derive(Debug, Clone)]
pub enum Filter {
    /// Every part holds.
    And(Vec<Filter>),
    /// Some part holds.
    Or(Vec<Filter>),
    /// The part does not hold.
    Not(Box<Filter>),
    /// A test of one field.
    Field {
        /// The field's v3 name.
        field: String,
        /// Applied to the value before the test.
        modifier: Option<Modifier>,
        /// The test.
        test: FieldTest,
    },
}

/// `is` on the value, or `list_is` on the elements of an array value.
#[derive(Debug, Clone)]
pub enum FieldTest {
    /// `is`: a condition tree on the value.
    Is(CondTree),
    /// `list_is: {"any": …}`: some element passes.
    Any(CondTree),
    /// `list_is: {"all": …}`: every element passes (true for an empty list).
    All(CondTree),
}

/// `and`/`or`/`not` over conditions on one value.
#[derive(Debug, Clone)]
pub enum CondTree {
    /// Every part holds.
    And(Vec<CondTree>),
    /// Some part holds.
    Or(Vec<CondTree>),
    /// The part does not hold.
    Not(Box<CondTree>),
    /// One condition.
    Leaf(Cond),
}

/// `uppercase`, `lowercase` or `length` of the field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// The string in upper case.
    Uppercase,
    /// The string in lower case.
    Lowercase,
    /// The string's length in characters, or an array's length.
    Length,
}

/// One condition.
#[derive(Debug, Clone)]
pub enum Cond {
    /// `eq`, `neq`, `gt`, `gte`, `lt`, `lte` against a value.
    Cmp(Cmp, J),
    /// `substring`, `isubstring` (case-insensitive).
    Substring(String, bool),
    /// `phrase_match`, `iphrase_match`: the words appear together, on word boundaries.
    Phrase(String, bool),
    /// `prefix`.
    Prefix(String),
    /// `suffix`.
    Suffix(String),
    /// `regex` (RE2 syntax, as Site Explorer takes it; the `regex` crate is RE2-like).
    Regex(Box<Regex>),
    /// `empty`: an empty string or array.
    Empty,
    /// `is_null`: the value is null.
    IsNull,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `eq`.
    Eq,
    /// `neq`.
    Neq,
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
}

/// Deepest nesting accepted (a `where` is a few levels deep in practice).
const MAX_DEPTH: usize = 32;

/// Parse a `where` parameter; `fields` are the names the endpoint's items have. The error is
/// the sentence for the client.
pub fn parse(text: &str, fields: &[&str]) -> Result<Filter, String> {
    let j: J = serde_json::from_str(text).map_err(|e| format!("'where' is not valid JSON: {e}"))?;
    filter(&j, fields, 0)
}

fn filter(j: &J, fields: &[&str], depth: usize) -> Result<Filter, String> {
    if depth > MAX_DEPTH {
        return Err(format!("'where' is nested deeper than {MAX_DEPTH} levels"));
    }
    let o = j
        .as_object()
        .ok_or_else(|| format!("'where': expected an object, found {j}"))?;
    let list = |v: &J| -> Result<Vec<Filter>, String> {
        let a = v
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or("'where': 'and'/'or' take a non-empty array")?;
        a.iter().map(|x| filter(x, fields, depth + 1)).collect()
    };
    if let Some(v) = o.get("and") {
        return Ok(Filter::And(list(v)?));
    }
    if let Some(v) = o.get("or") {
        return Ok(Filter::Or(list(v)?));
    }
    if let Some(v) = o.get("not") {
        return Ok(Filter::Not(Box::new(filter(v, fields, depth + 1)?)));
    }
    let field = o
        .get("field")
        .and_then(J::as_str)
        .ok_or("'where': each expression needs 'field', or is an 'and', 'or' or 'not'")?;
    if !fields.contains(&field) {
        return Err(format!(
            "'where': unknown field '{field}' (the fields are those of 'select')"
        ));
    }
    let modifier = match o.get("modifier").and_then(J::as_str) {
        None => None,
        Some("uppercase") => Some(Modifier::Uppercase),
        Some("lowercase") => Some(Modifier::Lowercase),
        Some("length") => Some(Modifier::Length),
        Some(m) => return Err(format!("'where': unknown modifier '{m}'")),
    };
    let test = match (o.get("is"), o.get("list_is")) {
        (Some(c), None) => FieldTest::Is(cond_tree(c, depth + 1)?),
        (None, Some(l)) => {
            let l = l.as_object().ok_or("'where': 'list_is' takes an object")?;
            match (l.get("any"), l.get("all")) {
                (Some(c), None) => FieldTest::Any(cond_tree(c, depth + 1)?),
                (None, Some(c)) => FieldTest::All(cond_tree(c, depth + 1)?),
                _ => return Err("'where': 'list_is' takes 'any' or 'all'".into()),
            }
        }
        _ => {
            return Err(format!(
                "'where': field '{field}' needs one of 'is' and 'list_is'"
            ))
        }
    };
    Ok(Filter::Field {
        field: field.to_string(),
        modifier,
        test,
    })
}

fn cond_tree(j: &J, depth: usize) -> Result<CondTree, String> {
    if depth > MAX_DEPTH {
        return Err(format!("'where' is nested deeper than {MAX_DEPTH} levels"));
    }
    if let Some(o) = j.as_object() {
        let list = |v: &J| -> Result<Vec<CondTree>, String> {
            let a = v
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or("'where': 'and'/'or' take a non-empty array")?;
            a.iter().map(|x| cond_tree(x, depth + 1)).collect()
        };
        if let Some(v) = o.get("and") {
            return Ok(CondTree::And(list(v)?));
        }
        if let Some(v) = o.get("or") {
            return Ok(CondTree::Or(list(v)?));
        }
        if let Some(v) = o.get("not") {
            return Ok(CondTree::Not(Box::new(cond_tree(v, depth + 1)?)));
        }
        return Err(
            "'where': a condition is an array, \"empty\", \"is_null\" or and/or/not".into(),
        );
    }
    Ok(CondTree::Leaf(cond(j)?))
}

fn cond(j: &J) -> Result<Cond, String> {
    match j {
        J::String(s) if s == "empty" => return Ok(Cond::Empty),
        J::String(s) if s == "is_null" => return Ok(Cond::IsNull),
        _ => {}
    }
    let bad = || format!("'where': cannot read the condition {j}");
    let a = j.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
    let op = a[0].as_str().ok_or_else(bad)?;
    let v = &a[1];
    let text = || {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("'where': '{op}' takes a string"))
    };
    Ok(match op {
        "eq" => Cond::Cmp(Cmp::Eq, v.clone()),
        "neq" => Cond::Cmp(Cmp::Neq, v.clone()),
        "gt" => Cond::Cmp(Cmp::Gt, v.clone()),
        "gte" => Cond::Cmp(Cmp::Gte, v.clone()),
        "lt" => Cond::Cmp(Cmp::Lt, v.clone()),
        "lte" => Cond::Cmp(Cmp::Lte, v.clone()),
        "substring" => Cond::Substring(text()?, false),
        "isubstring" => Cond::Substring(text()?.to_lowercase(), true),
        "phrase_match" => Cond::Phrase(text()?, false),
        "iphrase_match" => Cond::Phrase(text()?.to_lowercase(), true),
        "prefix" => Cond::Prefix(text()?),
        "suffix" => Cond::Suffix(text()?),
        "regex" => Cond::Regex(Box::new(
            regex::RegexBuilder::new(&text()?)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| format!("'where': bad regex: {e}"))?,
        )),
        _ => return Err(format!("'where': unknown operator '{op}'")),
    })
}

impl Filter {
    /// Whether `item` (an answer object with the filter's fields) passes.
    pub fn test(&self, item: &J) -> bool {
        match self {
            Filter::And(v) => v.iter().all(|f| f.test(item)),
            Filter::Or(v) => v.iter().any(|f| f.test(item)),
            Filter::Not(f) => !f.test(item),
            Filter::Field {
                field,
                modifier,
                test,
            } => {
                let value = modified(item.get(field).unwrap_or(&J::Null), *modifier);
                match test {
                    FieldTest::Is(c) => c.test(&value),
                    FieldTest::Any(c) => value
                        .as_array()
                        .is_some_and(|a| a.iter().any(|e| c.test(e))),
                    FieldTest::All(c) => value
                        .as_array()
                        .is_some_and(|a| a.iter().all(|e| c.test(e))),
                }
            }
        }
    }

    /// Every field the filter reads.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Filter::And(v) | Filter::Or(v) => v.iter().for_each(|f| f.collect_fields(out)),
            Filter::Not(f) => f.collect_fields(out),
            Filter::Field { field, .. } => out.push(field),
        }
    }
}

fn modified(v: &J, m: Option<Modifier>) -> J {
    match (m, v) {
        (None, _) => v.clone(),
        (Some(Modifier::Uppercase), J::String(s)) => J::from(s.to_uppercase()),
        (Some(Modifier::Lowercase), J::String(s)) => J::from(s.to_lowercase()),
        (Some(Modifier::Length), J::String(s)) => J::from(s.chars().count()),
        (Some(Modifier::Length), J::Array(a)) => J::from(a.len()),
        _ => J::Null,
    }
}

impl CondTree {
    fn test(&self, v: &J) -> bool {
        match self {
            CondTree::And(c) => c.iter().all(|c| c.test(v)),
            CondTree::Or(c) => c.iter().any(|c| c.test(v)),
            CondTree::Not(c) => !c.test(v),
            CondTree::Leaf(c) => c.test(v),
        }
    }
}

/// Order two JSON scalars: numbers as numbers, strings as strings, booleans false < true;
/// `None` when they are not comparable (a null, or different kinds).
pub fn compare(a: &J, b: &J) -> Option<Ordering> {
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (J::String(x), J::String(y)) => Some(x.cmp(y)),
        (J::Bool(x), J::Bool(y)) => Some(x.cmp(y)),
        // Clients write booleans as 1 and 0 too (`{"field": "is_dofollow", "is": ["eq", 1]}`).
        (J::Bool(x), J::Number(n)) => f64::from(u8::from(*x)).partial_cmp(&n.as_f64()?),
        (J::Number(n), J::Bool(y)) => n.as_f64()?.partial_cmp(&f64::from(u8::from(*y))),
        _ => None,
    }
}

fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

impl Cond {
    fn test(&self, v: &J) -> bool {
        let s = v.as_str();
        match self {
            Cond::IsNull => v.is_null(),
            Cond::Empty => match v {
                J::String(s) => s.is_empty(),
                J::Array(a) => a.is_empty(),
                _ => false,
            },
            Cond::Cmp(op, want) => {
                let Some(o) = compare(v, want) else {
                    // Null (or a value of another kind) never equals a value: it differs.
                    return *op == Cmp::Neq;
                };
                match op {
                    Cmp::Eq => o == Ordering::Equal,
                    Cmp::Neq => o != Ordering::Equal,
                    Cmp::Gt => o == Ordering::Greater,
                    Cmp::Gte => o != Ordering::Less,
                    Cmp::Lt => o == Ordering::Less,
                    Cmp::Lte => o != Ordering::Greater,
                }
            }
            Cond::Substring(want, ci) => s.is_some_and(|s| {
                if *ci {
                    s.to_lowercase().contains(want.as_str())
                } else {
                    s.contains(want.as_str())
                }
            }),
            Cond::Phrase(want, ci) => s.is_some_and(|s| {
                let (hay, needle) = if *ci {
                    (s.to_lowercase(), want.clone())
                } else {
                    (s.to_string(), want.clone())
                };
                let (hay, needle) = (words(&hay), words(&needle));
                !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle.as_slice())
            }),
            Cond::Prefix(p) => s.is_some_and(|s| s.starts_with(p.as_str())),
            Cond::Suffix(p) => s.is_some_and(|s| s.ends_with(p.as_str())),
            Cond::Regex(r) => s.is_some_and(|s| r.is_match(s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: &[&str] = &["anchor", "domain_rating_source", "is_dofollow", "languages"];

    fn passes(w: J, item: J) -> bool {
        parse(&w.to_string(), FIELDS).unwrap().test(&item)
    }

    #[test]
    fn every_operator_tests_what_its_name_says() {
        let item = json!({"anchor": "Best SEO tools 2026", "domain_rating_source": 42.0,
                          "is_dofollow": true, "languages": ["en", "de"]});
        let yes = |w: J| assert!(passes(w.clone(), item.clone()), "{w}");
        let no = |w: J| assert!(!passes(w.clone(), item.clone()), "{w}");
        yes(json!({"field": "domain_rating_source", "is": ["gte", 42]}));
        no(json!({"field": "domain_rating_source", "is": ["gt", 42]}));
        yes(json!({"field": "domain_rating_source", "is": ["lt", 50.5]}));
        yes(json!({"field": "is_dofollow", "is": ["eq", true]}));
        yes(json!({"field": "is_dofollow", "is": ["eq", 1]}));
        no(json!({"field": "is_dofollow", "is": ["eq", 0]}));
        yes(json!({"field": "anchor", "is": ["substring", "SEO"]}));
        no(json!({"field": "anchor", "is": ["substring", "seo"]}));
        yes(json!({"field": "anchor", "is": ["isubstring", "seo"]}));
        yes(json!({"field": "anchor", "is": ["phrase_match", "SEO tools"]}));
        no(json!({"field": "anchor", "is": ["phrase_match", "SE tools"]}));
        yes(json!({"field": "anchor", "is": ["iphrase_match", "best seo"]}));
        yes(json!({"field": "anchor", "is": ["prefix", "Best"]}));
        yes(json!({"field": "anchor", "is": ["suffix", "2026"]}));
        yes(json!({"field": "anchor", "is": ["regex", "^Best .* [0-9]{4}$"]}));
        yes(
            json!({"field": "anchor", "modifier": "lowercase", "is": ["eq", "best seo tools 2026"]}),
        );
        yes(json!({"field": "anchor", "modifier": "length", "is": ["eq", 19]}));
        no(json!({"field": "anchor", "is": "empty"}));
        no(json!({"field": "anchor", "is": "is_null"}));
        yes(json!({"field": "languages", "list_is": {"any": ["eq", "de"]}}));
        no(json!({"field": "languages", "list_is": {"all": ["eq", "de"]}}));
        yes(
            json!({"field": "languages", "list_is": {"all": {"or": [["eq", "de"], ["eq", "en"]]}}}),
        );
    }

    #[test]
    fn and_or_not_combine() {
        let item = json!({"anchor": "x", "domain_rating_source": 10.0, "is_dofollow": false});
        let dofollow = json!({"field": "is_dofollow", "is": ["eq", true]});
        let weak = json!({"field": "domain_rating_source", "is": ["lt", 20]});
        assert!(passes(json!({"or": [dofollow, weak]}), item.clone()));
        assert!(!passes(json!({"and": [dofollow, weak]}), item.clone()));
        assert!(passes(json!({"not": dofollow}), item.clone()));
        assert!(passes(
            json!({"field": "anchor", "is": {"not": ["eq", "y"]}}),
            item
        ));
    }

    #[test]
    fn nulls_equal_nothing_and_differ_from_everything() {
        let item = json!({"anchor": null});
        assert!(!passes(
            json!({"field": "anchor", "is": ["eq", "x"]}),
            item.clone()
        ));
        assert!(passes(
            json!({"field": "anchor", "is": ["neq", "x"]}),
            item.clone()
        ));
        assert!(passes(json!({"field": "anchor", "is": "is_null"}), item));
    }

    #[test]
    fn bad_filters_name_their_problem() {
        let err = |w: &str| parse(w, FIELDS).unwrap_err();
        assert!(err("{").contains("not valid JSON"));
        assert!(err(r#"{"field": "traffic", "is": ["gt", 1]}"#).contains("unknown field 'traffic'"));
        assert!(
            err(r#"{"field": "anchor", "is": ["like", "x"]}"#).contains("unknown operator 'like'")
        );
        assert!(err(r#"{"and": []}"#).contains("non-empty array"));
        assert!(err(r#"{"field": "anchor", "is": ["regex", "("]}"#).contains("bad regex"));
        assert!(err(r#"{"field": "anchor"}"#).contains("needs one of"));
        let deep = format!(
            "{}{}{}",
            r#"{"not":"#.repeat(40),
            r#"{"field":"anchor","is":"empty"}"#,
            "}".repeat(40)
        );
        assert!(err(&deep).contains("deeper"));
    }
}
