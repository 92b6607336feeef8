//! DataForSEO `filters` and `order_by` evaluated on result items, for what the query language
//! cannot say (`or`, `in`, `not_in`, `regex`, `not_regex`, `like` patterns other than
//! `%text%`, `not_like`) and for item sets built here (lost backlinks, one per anchor).
//!
//! A filter is `[field, op, value]` or a list of filters joined by `"and"` / `"or"`, nested
//! with brackets; at one level connectives apply left to right (DataForSEO's own rule for a
//! flat list). At most [`MAX_CONDITIONS`] conditions, as DataForSEO allows.

use regex::Regex;
use serde_json::Value as J;
use std::cmp::Ordering;

/// Most conditions in one `filters` value (DataForSEO's limit).
pub const MAX_CONDITIONS: usize = 8;

/// A comparison of one item field.
#[derive(Debug)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In(Vec<J>),
    NotIn(Vec<J>),
    /// `like` / `ilike` (with the case flag) and their negations, as a regex.
    Like(Regex, bool),
    Regex(Regex, bool),
}

/// A parsed `filters` value.
#[derive(Debug)]
pub enum Filter {
    /// One condition.
    Cond(String, OpBox, J),
    /// Filters joined left to right: `(f0 c1 f1) c2 f2 …`, `true` for `and`.
    Chain(Box<Filter>, Vec<(bool, Filter)>),
}

/// The operator of a condition (boxed regexes stay out of the enum's size).
#[derive(Debug)]
pub struct OpBox(Box<Op>);

/// SQL `LIKE` pattern → anchored regex (`%` any run, `_` one character).
fn like_regex(p: &str, insensitive: bool) -> Option<Regex> {
    let mut re = String::from(if insensitive { "(?is)^" } else { "(?s)^" });
    for c in p.chars() {
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).ok()
}

impl Filter {
    /// Parse `filters` whose fields must be among `fields`; `None` when anything is not
    /// understood (the caller answers "Invalid Field: 'filters'").
    pub fn parse(f: &J, fields: &[String]) -> Option<Filter> {
        let mut n = 0;
        let parsed = Self::parse_counted(f, fields, &mut n)?;
        (n <= MAX_CONDITIONS).then_some(parsed)
    }

    fn parse_counted(f: &J, fields: &[String], n: &mut usize) -> Option<Filter> {
        let a = f.as_array()?;
        if a.first().is_some_and(J::is_string) {
            let [J::String(field), J::String(op), value] = a.as_slice() else {
                return None;
            };
            if !fields.iter().any(|k| k == field) {
                return None;
            }
            *n += 1;
            let op = match op.to_ascii_lowercase().as_str() {
                "=" => Op::Eq,
                "<>" | "!=" => Op::Ne,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                "in" => Op::In(value.as_array()?.clone()),
                "not_in" => Op::NotIn(value.as_array()?.clone()),
                "like" => Op::Like(like_regex(value.as_str()?, false)?, true),
                "not_like" => Op::Like(like_regex(value.as_str()?, false)?, false),
                "ilike" => Op::Like(like_regex(value.as_str()?, true)?, true),
                "not_ilike" => Op::Like(like_regex(value.as_str()?, true)?, false),
                "regex" => Op::Regex(Regex::new(value.as_str()?).ok()?, true),
                "not_regex" => Op::Regex(Regex::new(value.as_str()?).ok()?, false),
                _ => return None,
            };
            return Some(Filter::Cond(
                field.clone(),
                OpBox(Box::new(op)),
                value.clone(),
            ));
        }
        let mut parts = a.iter();
        let first = Self::parse_counted(parts.next()?, fields, n)?;
        let mut rest = Vec::new();
        while let Some(conn) = parts.next() {
            let and = match conn.as_str()?.to_ascii_lowercase().as_str() {
                "and" => true,
                "or" => false,
                _ => return None,
            };
            rest.push((and, Self::parse_counted(parts.next()?, fields, n)?));
        }
        Some(Filter::Chain(Box::new(first), rest))
    }

    /// Whether `item` passes.
    pub fn test(&self, item: &J) -> bool {
        match self {
            Filter::Chain(first, rest) => rest.iter().fold(first.test(item), |acc, (and, f)| {
                if *and {
                    acc && f.test(item)
                } else {
                    acc || f.test(item)
                }
            }),
            Filter::Cond(field, op, value) => {
                let v = &item[field.as_str()];
                match &*op.0 {
                    Op::Eq => compare(v, value) == Some(Ordering::Equal),
                    Op::Ne => compare(v, value) != Some(Ordering::Equal),
                    Op::Lt => compare(v, value) == Some(Ordering::Less),
                    Op::Le => matches!(compare(v, value), Some(Ordering::Less | Ordering::Equal)),
                    Op::Gt => compare(v, value) == Some(Ordering::Greater),
                    Op::Ge => {
                        matches!(compare(v, value), Some(Ordering::Greater | Ordering::Equal))
                    }
                    Op::In(set) => set.iter().any(|s| compare(v, s) == Some(Ordering::Equal)),
                    Op::NotIn(set) => !set.iter().any(|s| compare(v, s) == Some(Ordering::Equal)),
                    Op::Like(re, want) | Op::Regex(re, want) => {
                        v.as_str().is_some_and(|s| re.is_match(s)) == *want
                    }
                }
            }
        }
    }
}

/// Order of two item values of one field: numbers as numbers, strings by text, booleans,
/// `null` only equal to `null`; `None` when they cannot be compared.
fn compare(a: &J, b: &J) -> Option<Ordering> {
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (J::String(x), J::String(y)) => Some(x.cmp(y)),
        (J::Bool(x), J::Bool(y)) => Some(x.cmp(y)),
        (J::Null, J::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

/// `order_by` rules (`"field,desc"`) on item fields; `None` when a field is unknown.
pub fn parse_order(o: &J, fields: &[String]) -> Option<Vec<(String, bool)>> {
    o.as_array()?
        .iter()
        .map(|rule| {
            let s = rule.as_str()?;
            let (field, dir) = s.split_once(',').unwrap_or((s, "asc"));
            let field = field.trim();
            if !fields.iter().any(|k| k == field) {
                return None;
            }
            match dir.trim().to_ascii_lowercase().as_str() {
                "asc" => Some((field.to_string(), false)),
                "desc" => Some((field.to_string(), true)),
                _ => None,
            }
        })
        .collect()
}

/// Sort items by `rules` (`null` last either way), stable.
pub fn sort(items: &mut [J], rules: &[(String, bool)]) {
    items.sort_by(|a, b| {
        for (field, desc) in rules {
            let (x, y) = (&a[field.as_str()], &b[field.as_str()]);
            let o = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => {
                    let o = compare(x, y).unwrap_or(Ordering::Equal);
                    if *desc {
                        o.reverse()
                    } else {
                        o
                    }
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<String> {
        ["anchor", "rank", "dofollow", "domain_from"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn conditions_connectives_and_operators() {
        let item = json!({"anchor": "Best SEO tools", "rank": 120, "dofollow": false, "domain_from": "a.example.com"});
        let t = |f: J| Filter::parse(&f, &fields()).map(|f| f.test(&item));
        assert_eq!(t(json!(["rank", ">", 100])), Some(true));
        assert_eq!(t(json!(["rank", "in", [1, 120]])), Some(true));
        assert_eq!(t(json!(["rank", "not_in", [120]])), Some(false));
        assert_eq!(t(json!(["anchor", "like", "Best%"])), Some(true));
        assert_eq!(t(json!(["anchor", "like", "best%"])), Some(false));
        assert_eq!(t(json!(["anchor", "ilike", "best%"])), Some(true));
        assert_eq!(t(json!(["anchor", "not_ilike", "%seo%"])), Some(false));
        assert_eq!(
            t(json!(["domain_from", "regex", "^a\\.example\\."])),
            Some(true)
        );
        assert_eq!(
            t(json!(["domain_from", "not_regex", "example"])),
            Some(false)
        );
        assert_eq!(
            t(json!([["rank", "<", 5], "or", ["dofollow", "=", false]])),
            Some(true)
        );
        assert_eq!(
            t(json!([
                ["rank", "<", 5],
                "or",
                ["dofollow", "=", false],
                "and",
                ["anchor", "=", "x"]
            ])),
            Some(false),
            "left to right"
        );
        assert_eq!(
            t(json!([
                ["rank", "<", 5],
                "or",
                [["dofollow", "=", false], "and", ["rank", "=", 120]]
            ])),
            Some(true),
            "brackets group"
        );
        // Unknown fields, operators, connectives and bad regexes are refused.
        assert!(t(json!(["spam", "=", 1])).is_none());
        assert!(t(json!(["rank", "~", 1])).is_none());
        assert!(t(json!([["rank", "=", 1], "xor", ["rank", "=", 2]])).is_none());
        assert!(t(json!(["anchor", "regex", "("])).is_none());
        let nine: Vec<J> = (0..9)
            .flat_map(|i| [json!(["rank", ">", i]), json!("and")])
            .take(17)
            .collect();
        assert!(t(J::Array(nine)).is_none(), "at most 8 conditions");
    }

    #[test]
    fn order_rules_sort_with_nulls_last() {
        let mut items = vec![
            json!({"rank": 1, "anchor": "b"}),
            json!({"rank": null, "anchor": "a"}),
            json!({"rank": 5, "anchor": "c"}),
            json!({"rank": 5, "anchor": "a"}),
        ];
        let rules = parse_order(&json!(["rank,desc", "anchor"]), &fields()).unwrap();
        sort(&mut items, &rules);
        let got: Vec<&str> = items
            .iter()
            .map(|i| i["anchor"].as_str().unwrap())
            .collect();
        assert_eq!(got, vec!["a", "c", "b", "a"]);
        assert!(parse_order(&json!(["nope,desc"]), &fields()).is_none());
    }
}
